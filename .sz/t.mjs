import { StateMachine } from 'aws-local-stepfunctions';
const def = { StartAt: 'A', TimeoutSeconds: 1, States: { A: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:A', End: true } } };
const m = new StateMachine(def);
const t0 = Date.now();
let release; const gate = new Promise(r => release = r);
const ex = m.run({}, { overrides: { taskResourceLocalHandlers: { A: async () => { await gate; return 1; } } } });
ex.result.then(v => console.log('ok', v, Date.now()-t0), e => console.log('err', e.name, e.message, Date.now()-t0));
setTimeout(() => { console.log('releasing at', Date.now()-t0); release(); }, 3000);
