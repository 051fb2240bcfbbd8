// The end-to-end stage in a process of its own (it starts the embedded stack, so it runs under tsx).
import { endToEndStage } from './end-to-end.ts';

const [recordsText = '0', workDir = ''] = process.argv.slice(2);
console.log(JSON.stringify(await endToEndStage(Number(recordsText), workDir)));
process.exit(0);
