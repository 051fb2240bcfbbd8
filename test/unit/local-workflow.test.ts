// The export ASL as the local runner executes it, with stand-in handlers: each source reaches the
// function its connector names and loops there until done, and BundleArchive sees what both collected.
import { describe, expect, it } from 'vitest';
import { LocalWorkflow, type TaskHandler, type TaskHandlers } from '../../local/local-workflow.ts';

interface Call {
  task: string;
  functionName: string;
  event: Record<string, unknown>;
}

/** Handlers that record each call; a collector answers two slices per source (a cursor, then done). */
function recordingHandlers(calls: Call[], sources: { sourceId: string; collector: string }[], withDatabaseFunction: boolean): TaskHandlers {
  const recorded =
    (task: string, answer: (event: Record<string, unknown>) => unknown): TaskHandler =>
    (event, context) => {
      calls.push({ task, functionName: context.functionName, event: event as Record<string, unknown> });
      return Promise.resolve(answer(event as Record<string, unknown>));
    };
  // What a collect handler returns: the request fields only (its event schema drops the rest).
  const collect = (task: string) =>
    recorded(task, (e) => {
      const first = e.cursor === null;
      return {
        exportId: e.exportId,
        userId: e.userId,
        sourceId: e.sourceId,
        range: e.range,
        cursor: first ? 'page-2' : null,
        nextPart: (e.nextPart as number) + 1,
        records: (e.records as number) + 10,
        waitedMs: (e.waitedMs as number) + 5,
        done: !first,
      };
    });
  return {
    PrepareExport: recorded('PrepareExport', (e) => ({
      ...e,
      formats: ['json'],
      range: RANGE,
      request: REQUEST,
      sourceIds: sources.map((s) => s.sourceId),
      sources,
      queuedMs: 1500,
    })),
    CollectSource: collect('CollectSource'),
    ...(withDatabaseFunction ? { CollectDatabaseSource: collect('CollectDatabaseSource') } : {}),
    BundleArchive: recorded('BundleArchive', (e) => ({
      exportId: e.exportId,
      userId: e.userId,
      done: true,
      archiveKey: 'k',
      archiveBytes: 1,
      archiveParts: 1,
      entryBytes: 1,
      fileCount: 1,
      records: 1,
    })),
    SendLink: recorded('SendLink', () => ({ status: 'READY' })),
    MarkFailed: recorded('MarkFailed', () => ({})),
  };
}

const RANGE = { since: '2026-01-01T00:00:00.000Z', until: null };
const REQUEST = { receivedAt: '2026-02-01T00:00:00.000Z', dueBy: '2026-03-03T00:00:00.000Z', requestedBy: 'self', categories: ['account', 'payment'], since: RANGE.since };

const SOURCES = [
  { sourceId: 'profile', collector: 'CollectSource' },
  { sourceId: 'orders', collector: 'CollectDatabaseSource' },
  { sourceId: 'identity', collector: 'CollectSource' },
];

describe('the CollectSources Map, run locally', () => {
  it('sends each source to its own collector until done, and hands BundleArchive every source', async () => {
    const calls: Call[] = [];
    const workflow = new LocalWorkflow({ handlers: recordingHandlers(calls, SOURCES, true), retryIntervalMs: 0 });
    await workflow.start('exp-1', { exportId: 'exp-1', userId: 'u-1' });
    expect((await workflow.wait('exp-1')).status).toBe('SUCCEEDED');
    const collected = (task: string) => calls.filter((c) => c.task === task).map((c) => `${c.event.sourceId as string}:${String(c.event.cursor)}`);
    expect(collected('CollectDatabaseSource')).toEqual(['orders:null', 'orders:page-2']);
    expect(collected('CollectSource').sort()).toEqual(['identity:null', 'identity:page-2', 'profile:null', 'profile:page-2']);
    expect(calls.filter((c) => c.task === 'CollectDatabaseSource').every((c) => c.functionName === 'CollectDatabaseSource')).toBe(true);
    // The first call carries the collector; later calls carry what the function returned.
    expect(calls.find((c) => c.task === 'CollectDatabaseSource')?.event).toEqual({
      exportId: 'exp-1',
      userId: 'u-1',
      sourceId: 'orders',
      collector: 'CollectDatabaseSource',
      range: RANGE,
      cursor: null,
      nextPart: 0,
      records: 0,
      waitedMs: 0,
    });
    // Every call of a loop carries the user's date range on, as the collectors return it.
    expect(calls.filter((c) => c.task.startsWith('Collect')).every((c) => JSON.stringify(c.event.range) === JSON.stringify(RANGE))).toBe(true);
    const bundle = calls.find((c) => c.task === 'BundleArchive');
    // With the time each source's calls waited for their read budgets, and the export's wait for a slot.
    expect(bundle?.event.sources).toEqual(SOURCES.map((s) => ({ sourceId: s.sourceId, nextPart: 2, records: 20, waitedMs: 10 })));
    expect(bundle?.event.queuedMs).toBe(1500);
    expect(bundle?.event.request).toEqual(REQUEST);
  });

  it('without a CollectDatabaseSource function, runs that Task on CollectSource, as the deployed placeholder does', async () => {
    const calls: Call[] = [];
    const workflow = new LocalWorkflow({ handlers: recordingHandlers(calls, SOURCES, false), retryIntervalMs: 0 });
    await workflow.start('exp-2', { exportId: 'exp-2', userId: 'u-2' });
    expect((await workflow.wait('exp-2')).status).toBe('SUCCEEDED');
    const orders = calls.filter((c) => c.event.sourceId === 'orders' && c.task.startsWith('Collect'));
    expect(orders.map((c) => [c.task, c.functionName])).toEqual([
      ['CollectSource', 'CollectSource'],
      ['CollectSource', 'CollectSource'],
    ]);
  });
});
