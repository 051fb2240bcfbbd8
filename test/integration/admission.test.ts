// Admission on the embedded stack, with a cap of 2: exports beyond it wait as QUEUED in arrival order
// and show how many wait ahead; they start as slots free, whichever way the running export ended
// (READY, FAILED through the Catch, CANCELLED mid-run); a waiting export can be cancelled and never
// starts; and the sweep frees a slot whose ending was never reported.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportView } from '../../cli/support-client.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import { SourceUnavailableError } from '../../lambdas/core/platform/errors.ts';
import { writeDataMap } from '../support/data-map-file.ts';
import { aroundCollectSource } from '../support/faults.ts';

const CAP = 2;
const dir = mkdtempSync(join(tmpdir(), 'admission-'));
const dataMapFile = writeDataMap(dir, [{ id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' }]);

/** Users whose CollectSource holds until their gate opens (running exports a test controls), and one that always fails. */
const gates = new Map<string, () => void>();
const held = new Map<string, Promise<void>>();
function hold(userId: string): void {
  held.set(userId, new Promise<void>((resolve) => gates.set(userId, resolve)));
}
const release = (userId: string) => gates.get(userId)?.();

let stack: EmbeddedStack;
/** The most executions seen running at once, sampled at every task invocation and every start. */
let peakRunning = 0;

beforeAll(async () => {
  stack = await EmbeddedStack.start({
    dataMapFile,
    retryIntervalMs: 0,
    maxConcurrentExports: CAP,
    wrapTask: (task, handler) => {
      const wrapped = aroundCollectSource(async ({ userId }, collect) => {
        await held.get(userId);
        if (userId.startsWith('fails')) throw new SourceUnavailableError('profile', 'The Users table cannot be read (injected).');
        return collect();
      })(task, handler);
      return (event, context) => {
        peakRunning = Math.max(peakRunning, stack.workflow.runningCount());
        return wrapped(event, context);
      };
    },
  });
  const users = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'q1', 'q2', 'q3', 'q4', 'fails1', 'c1', 'c2', 'c3', 's1', 's2'];
  await stack.loadSeed({ tables: { Users: users.map((u) => ({ userId: { S: u }, email: { S: `${u}@example.com` } })) }, schemas: {}, objects: [] });
});

afterAll(async () => {
  for (const open of gates.values()) open();
  await stack?.stop();
});

async function api(method: string, path: string, userId: string, body?: object): Promise<{ status: number; body: ExportView }> {
  const token = await stack.signIn(userId);
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as ExportView };
}

const start = (userId: string) => api('POST', '/exports', userId, { format: 'json' });

describe('admission', () => {
  it('runs at most the cap at once; the rest wait QUEUED in arrival order, showing how many are ahead, and all complete', async () => {
    for (const user of ['a1', 'a2']) hold(user);
    const started: ExportView[] = [];
    // One after another, so that arrival order is defined.
    for (const user of ['a1', 'a2', 'a3', 'a4', 'a5', 'a6']) {
      const answer = await start(user);
      expect(answer.status).toBe(202);
      started.push(answer.body);
    }
    expect(started.map((view) => view.status)).toEqual(['QUEUED', 'QUEUED', 'QUEUED', 'QUEUED', 'QUEUED', 'QUEUED']);
    // The first two took the slots (their executions started); the others wait, each knowing its place.
    expect(started.map((view) => view.queue)).toEqual([null, null, { ahead: 0 }, { ahead: 1 }, { ahead: 2 }, { ahead: 3 }]);
    expect((await api('GET', `/exports/${started[5]?.exportId}`, 'a6')).body.queue).toEqual({ ahead: 3 });
    expect(stack.workflow.runningCount()).toBe(CAP);

    release('a1');
    release('a2');
    const finished = await Promise.all(started.map((view) => stack.waitForExport(view.exportId)));
    expect(finished.map((f) => f.job.status)).toEqual(started.map(() => 'READY'));
    // Admitted in arrival order.
    const admittedAt = finished.map((f) => f.job.admittedAt ?? '');
    expect([...admittedAt].sort()).toEqual(admittedAt);
    expect(peakRunning).toBeLessThanOrEqual(CAP);
    expect(await stack.jobs.admission.holders()).toEqual([]);
  });

  it('frees the slot of an export that failed through the Catch and of one cancelled mid-run; a waiting export cancelled never starts', async () => {
    hold('c1');
    hold('fails1');
    const running = (await start('c1')).body;
    const failing = (await start('fails1')).body;
    const waiting = (await start('q1')).body;
    const cancelledWhileWaiting = (await start('q2')).body;
    const last = (await start('q3')).body;
    expect([waiting.queue, cancelledWhileWaiting.queue, last.queue]).toEqual([{ ahead: 0 }, { ahead: 1 }, { ahead: 2 }]);

    // Cancelled from the page's API while it waits: it leaves the queue, and the one behind moves up.
    const cancelled = await api('DELETE', `/exports/${cancelledWhileWaiting.exportId}`, 'q2');
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'CANCELLED', queue: null } });
    expect((await api('GET', `/exports/${last.exportId}`, 'q3')).body.queue).toEqual({ ahead: 1 });

    // The failing export ends FAILED; its slot goes to the oldest waiting export.
    release('fails1');
    expect((await stack.waitForExport(failing.exportId)).job.status).toBe('FAILED');
    expect((await stack.waitForExport(waiting.exportId)).job.status).toBe('READY');
    // The running export is cancelled; its execution's ending frees the slot for the last one.
    expect((await api('DELETE', `/exports/${running.exportId}`, 'c1')).body.status).toBe('CANCELLED');
    release('c1');
    expect((await stack.waitForExport(running.exportId)).outcome.status).toBe('ABORTED');
    expect((await stack.waitForExport(last.exportId)).job.status).toBe('READY');

    const never = await stack.jobs.get(cancelledWhileWaiting.exportId);
    expect(never).toMatchObject({ status: 'CANCELLED' });
    expect(never?.admittedAt).toBeUndefined();
    expect(await stack.jobs.admission.isWaiting(cancelledWhileWaiting as never)).toBe(false);
    expect(peakRunning).toBeLessThanOrEqual(CAP);
    expect(await stack.jobs.admission.holders()).toEqual([]);
  });

  it('the daily sweep frees slots held by exports that ended unreported, and admits the waiting', async () => {
    // Two slots held by exports whose endings never reached ExecutionEnded (a lost event).
    const ghosts = [crypto.randomUUID(), crypto.randomUUID()];
    for (const ghost of ghosts) expect(await stack.jobs.admission.acquire(ghost, CAP)).toBe(true);
    const waiting = (await start('s1')).body;
    expect(waiting.queue).toEqual({ ahead: 0 });
    const swept = await stack.sweep();
    expect(swept.slotsFreed.sort()).toEqual([...ghosts].sort());
    expect(swept.admitted).toEqual([waiting.exportId]);
    expect((await stack.waitForExport(waiting.exportId)).job.status).toBe('READY');
  });

  it('a repeated start of a waiting export answers the same export, still waiting', async () => {
    const ghosts = [crypto.randomUUID(), crypto.randomUUID()];
    for (const ghost of ghosts) await stack.jobs.admission.acquire(ghost, CAP);
    const first = await start('s2');
    const again = await start('s2');
    expect(again).toMatchObject({ status: 200, body: { exportId: first.body.exportId, status: 'QUEUED', queue: { ahead: 0 } } });
    for (const ghost of ghosts) await stack.jobs.admission.release(ghost);
    // A repeated request nudges admission: a slot freed without an event (here, by hand) is taken.
    const nudged = await start('s2');
    expect(nudged.body).toMatchObject({ exportId: first.body.exportId, queue: null });
    expect((await stack.waitForExport(first.body.exportId)).job.status).toBe('READY');
  });
});
