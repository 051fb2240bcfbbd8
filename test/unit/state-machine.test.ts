// The export workflow's ASL: valid ASL, within what the local runner executes (JSONPath, inline Map),
// and with the hygiene STYLE asks for (timeouts, jittered retries, one failure path).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { EXPORT_DEFINITION_FILE } from '../../state-machines/definition.ts';

interface AslError {
  'Error code': string;
  Message: string;
}
type AslValidator = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errors: AslError[]; errorsText: (separator?: string) => string };

// asl-validator is CommonJS without type declarations.
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  JitterStrategy?: string;
}
interface Catcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string;
}
interface State {
  Type: string;
  Resource?: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Next: string; Variable?: string; BooleanEquals?: boolean; StringEquals?: string }[];
  TimeoutSeconds?: number;
  Retry?: Retrier[];
  Catch?: Catcher[];
  MaxConcurrency?: number;
  ItemProcessor?: StateMachine & { ProcessorConfig?: { Mode?: string } };
  Iterator?: StateMachine;
}
interface StateMachine {
  StartAt: string;
  States: Record<string, State>;
  TimeoutSeconds?: number;
  QueryLanguage?: string;
}

const text = readFileSync(EXPORT_DEFINITION_FILE, 'utf8');
const definition = JSON.parse(text) as StateMachine;

/** The definition as CDK's definitionSubstitutions would deploy it, with real-looking Lambda ARNs. */
function deployedDefinition(): unknown {
  const substituted = text.replace(/\$\{(\w+)FunctionArn\}/g, (_match, name: string) => `arn:aws:lambda:eu-west-1:123456789012:function:${name}`);
  return JSON.parse(substituted);
}

/** Every state, top level and inside Map processors, with the name of the machine that holds it. */
function allStates(machine: StateMachine = definition, scope = 'top'): { name: string; state: State; scope: string }[] {
  return Object.entries(machine.States).flatMap(([name, state]) => [
    { name, state, scope },
    ...(state.ItemProcessor ? allStates(state.ItemProcessor, name) : []),
    ...(state.Iterator ? allStates(state.Iterator, name) : []),
  ]);
}

function successors(state: State): string[] {
  return [state.Next, state.Default, ...(state.Choices ?? []).map((c) => c.Next), ...(state.Catch ?? []).map((c) => c.Next)].filter((n): n is string => n !== undefined);
}

/** Names of the states of `machine` reachable from its StartAt (not descending into Maps). */
function reachable(machine: StateMachine): Set<string> {
  const seen = new Set<string>();
  const queue = [machine.StartAt];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (seen.has(name)) continue;
    seen.add(name);
    const state = machine.States[name];
    if (state) queue.push(...successors(state));
  }
  return seen;
}

/** Every key anywhere in a JSON value. */
function allKeys(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(allKeys);
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...allKeys(v)]);
  return [];
}

const tasks = allStates().filter((s) => s.state.Type === 'Task');

describe('state-machines/export.asl.json', () => {
  it('is valid ASL once the function ARNs are substituted', () => {
    const result = aslValidator(deployedDefinition());
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('would be refused by the same validation if a transition pointed at a missing state', () => {
    const broken = deployedDefinition() as StateMachine;
    const sendLink = broken.States.SendLink;
    if (sendLink) sendLink.Next = 'NoSuchState';
    const result = aslValidator(broken);
    expect(result.isValid).toBe(false);
    expect(result.errors.map((e) => e['Error code'])).toContain('MISSING_TRANSITION_TARGET');
  });

  it('has one placeholder per workflow function and no other substitution', () => {
    const placeholders = [...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]);
    expect(new Set(placeholders)).toEqual(
      new Set([
        'PrepareExportFunctionArn',
        'CollectSourceFunctionArn',
        'CollectDatabaseSourceFunctionArn',
        'BundleArchiveFunctionArn',
        'SendLinkFunctionArn',
        'MarkFailedFunctionArn',
      ]),
    );
  });

  it('uses JSONPath only: no JSONata, no Assign, no JSONata-only fields', () => {
    const keys = allKeys(definition);
    expect(keys).not.toContain('Assign');
    expect(keys).not.toContain('Arguments');
    expect(keys).not.toContain('Output');
    const languages = allStates().map((s) => (s.state as { QueryLanguage?: string }).QueryLanguage ?? definition.QueryLanguage ?? 'JSONPath');
    expect(new Set(languages)).toEqual(new Set(['JSONPath']));
    expect(text).not.toContain('{%');
  });

  it('uses nothing the local runner cannot execute (task tokens, distributed Map)', () => {
    for (const { name, state } of tasks) expect(state.Resource, name).not.toMatch(/waitForTaskToken|\.sync/);
    expect(allKeys(definition)).not.toContain('ItemReader');
    expect(allKeys(definition)).not.toContain('ResultWriter');
  });

  it('collects sources in an inline Map with a MaxConcurrency', () => {
    const maps = allStates().filter((s) => s.state.Type === 'Map');
    expect(maps.map((m) => m.name)).toEqual(['CollectSources']);
    const map = definition.States.CollectSources;
    expect(map?.ItemProcessor?.ProcessorConfig?.Mode).toBe('INLINE');
    expect(map?.MaxConcurrency).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(map?.MaxConcurrency)).toBe(true);
  });

  it('sends each source to the function its connector names, and loops each until the source says it is done', () => {
    const map = definition.States.CollectSources;
    expect(map).toMatchObject({ ItemsPath: '$.sources', ItemSelector: { 'sourceId.$': '$$.Map.Item.Value.sourceId', 'collector.$': '$$.Map.Item.Value.collector' } });
    const processor = map?.ItemProcessor;
    expect(processor?.StartAt).toBe('ChooseCollector');
    expect(processor?.States.ChooseCollector).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.collector', StringEquals: 'CollectDatabaseSource', Next: 'CollectDatabaseSource' }],
      Default: 'CollectSource',
    });
    for (const [task, choice] of [
      ['CollectSource', 'IsSourceCollected'],
      ['CollectDatabaseSource', 'IsDatabaseSourceCollected'],
    ] as const) {
      const collect = processor?.States[task];
      expect(collect?.Type, task).toBe('Task');
      expect(collect?.Resource, task).toBe(`\${${task}FunctionArn}`);
      expect(collect?.Next, task).toBe(choice);
      expect(processor?.States[choice], choice).toMatchObject({ Type: 'Choice', Default: task, Choices: [{ Variable: '$.done', BooleanEquals: true, Next: 'SourceCollected' }] });
    }
    const done = processor?.States.SourceCollected;
    expect(done?.End).toBe(true);
  });

  it('retries both collectors on exactly the same errors, with the same timeout', () => {
    const states = definition.States.CollectSources?.ItemProcessor?.States;
    expect(states?.CollectDatabaseSource?.Retry).toEqual(states?.CollectSource?.Retry);
    expect(states?.CollectDatabaseSource?.TimeoutSeconds).toBe(states?.CollectSource?.TimeoutSeconds);
    expect(states?.CollectSource?.Retry?.flatMap((r) => r.ErrorEquals)).toContain('SourceReadError');
  });

  it('runs PrepareExport, CollectSources, BundleArchive, SendLink in that order to success', () => {
    const order: string[] = [];
    // A Choice goes on with its first choice: the archive built.
    const next = (name: string) => definition.States[name]?.Next ?? definition.States[name]?.Choices?.[0]?.Next;
    for (let name: string | undefined = definition.StartAt; name !== undefined; name = next(name)) order.push(name);
    expect(order).toEqual(['PrepareExport', 'CollectSources', 'StartArchive', 'BundleArchive', 'IsArchiveBuilt', 'SendLink', 'ExportReady']);
    expect(definition.States.ExportReady?.Type).toBe('Succeed');
  });

  it('loops BundleArchive through IsArchiveBuilt, from a resume point, until the archive is built', () => {
    expect(definition.States.StartArchive).toMatchObject({ Type: 'Pass', Result: { resume: null }, ResultPath: '$.archive', Next: 'BundleArchive' });
    expect(definition.States.BundleArchive).toMatchObject({ Parameters: { 'resume.$': '$.archive.resume' }, ResultPath: '$.archive', Next: 'IsArchiveBuilt' });
    expect(definition.States.IsArchiveBuilt).toMatchObject({
      Type: 'Choice',
      Default: 'BundleArchive',
      Choices: [{ Variable: '$.archive.done', BooleanEquals: true, Next: 'SendLink' }],
    });
  });

  it('gives every Task a TimeoutSeconds within Lambda limits', () => {
    expect(tasks.length).toBeGreaterThanOrEqual(5);
    for (const { name, state } of tasks) {
      expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
      expect(state.TimeoutSeconds, name).toBeLessThanOrEqual(900);
    }
  });

  it('gives every Task a Retry whose interval retriers back off with full jitter', () => {
    for (const { name, state } of tasks) {
      expect(state.Retry?.length ?? 0, name).toBeGreaterThan(0);
      for (const retrier of state.Retry ?? []) {
        if (retrier.IntervalSeconds === undefined) continue;
        expect(retrier.BackoffRate, `${name} ${retrier.ErrorEquals.join(',')}`).toBeGreaterThanOrEqual(1);
        expect(retrier.JitterStrategy, `${name} ${retrier.ErrorEquals.join(',')}`).toBe('FULL');
      }
    }
  });

  it('retries transient Lambda errors on every Task', () => {
    for (const { name, state } of tasks) {
      const retried = (state.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(retried.includes('Lambda.TooManyRequestsException') || retried.includes('States.ALL'), name).toBe(true);
    }
  });

  it('catches States.ALL into MarkFailed from every top-level Task and Map except MarkFailed', () => {
    const guarded = Object.entries(definition.States).filter(([name, s]) => (s.Type === 'Task' || s.Type === 'Map') && name !== 'MarkFailed');
    expect(guarded.map(([name]) => name)).toEqual(['PrepareExport', 'CollectSources', 'BundleArchive', 'SendLink']);
    for (const [name, state] of guarded) {
      expect(state.Catch, name).toContainEqual(expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'MarkFailed' }));
    }
  });

  it('leaves errors of Tasks inside the Map to the Map, whose Catch leads to MarkFailed', () => {
    for (const { name, state, scope } of tasks.filter((t) => t.scope !== 'top')) {
      expect(scope, name).toBe('CollectSources');
      expect(state.Catch, name).toBeUndefined();
    }
  });

  it('has MarkFailed lead to a Fail state, with no Catch of its own', () => {
    const markFailed = definition.States.MarkFailed;
    expect(markFailed?.Type).toBe('Task');
    expect(markFailed?.Catch).toBeUndefined();
    const next = markFailed?.Next;
    expect(next).toBe('ExportFailed');
    expect(definition.States[next ?? '']?.Type).toBe('Fail');
  });

  it('has a TimeoutSeconds on the whole machine, longer than any single Task', () => {
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
    const longestTask = Math.max(...tasks.map((t) => t.state.TimeoutSeconds ?? 0));
    expect(definition.TimeoutSeconds).toBeGreaterThan(longestTask);
  });

  it('reaches every state, at the top level and inside the Map', () => {
    expect([...reachable(definition)].sort()).toEqual(Object.keys(definition.States).sort());
    const processor = definition.States.CollectSources?.ItemProcessor;
    expect(processor).toBeDefined();
    if (processor) expect([...reachable(processor)].sort()).toEqual(Object.keys(processor.States).sort());
  });

  it('names states in PascalCase', () => {
    for (const { name } of allStates()) expect(name).toMatch(/^[A-Z][A-Za-z]+$/);
  });
});
