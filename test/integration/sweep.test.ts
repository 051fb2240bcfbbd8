// The daily sweep on the embedded stack, on a clock the test moves: a READY export past retention is
// EXPIRED and its link refuses; an export that outlived the state machine's timeout, whose ending
// ExecutionEnded never got, is FAILED with its lock freed and its user told; a failed request a later
// export answers leaves the open-requests index; and a second sweep changes nothing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMEOUT_GRACE_MS } from '../../lambdas/core/lifecycle/sweep-exports.ts';
import { SourceUnavailableError } from '../../lambdas/core/platform/errors.ts';
import type { SdkClient } from '../../lambdas/core/runtime.ts';
import { EmbeddedStack, linkInEmail } from '../../local/embedded-stack.ts';
import { DAY_MS, TestClock } from '../support/clock.ts';
import { writeDataMap } from '../support/data-map-file.ts';
import { aroundCollectSource } from '../support/faults.ts';

const dir = mkdtempSync(join(tmpdir(), 'sweep-'));
const dataMapFile = writeDataMap(dir, [{ id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' }]);
const USERS = ['api-user', 'old', 'stuck', 'retry'];
const RETENTION_DAYS = 2;
/** The whole machine's timeout here, for the local runner (real seconds) and the sweeper (the clock's). */
const TIMEOUT_SECONDS = 2;
const clock = new TestClock();

/** `stuck`'s first collector call outlives the machine's timeout; released at the end, it reads nothing. */
let releaseStuck: () => void = () => undefined;
const stuckReleased = new Promise<void>((resolve) => (releaseStuck = resolve));
let stuckHeld = false;
/** Users whose next export's source fails. */
const failNext = new Set<string>();

/** Exports whose ending ExecutionEnded never gets done: the EventBridge delivery that would close the job is lost. */
const lostEndings = new Set<string>();
function loseExecutionEndings(client: SdkClient, functionName: string): void {
  if (functionName !== 'ExecutionEnded') return;
  const send = client.send.bind(client) as (command: { input: object }) => Promise<unknown>;
  Object.assign(client, {
    send: (command: { input: object }) =>
      [...lostEndings].some((id) => JSON.stringify(command.input).includes(id))
        ? Promise.reject(Object.assign(new Error('Rate exceeded (injected)'), { name: 'ThrottlingException' }))
        : send(command),
  });
}

let stack: EmbeddedStack;

beforeAll(async () => {
  stack = await EmbeddedStack.start({
    dataMapFile,
    retryIntervalMs: 0,
    cooldownHours: 0,
    retentionDays: RETENTION_DAYS,
    timeoutSeconds: TIMEOUT_SECONDS,
    clock: clock.now,
    wrapClient: loseExecutionEndings,
    wrapTask: aroundCollectSource(async ({ userId, sourceId }, collect) => {
      if (userId === 'stuck' && !stuckHeld) {
        stuckHeld = true;
        await stuckReleased;
        throw new Error('The execution this call belonged to has ended.');
      }
      if (failNext.delete(userId)) throw new SourceUnavailableError(sourceId, 'The users table is gone (injected).');
      return collect();
    }),
  });
  await stack.loadSeed({ tables: { Users: USERS.map((u) => ({ userId: { S: u }, email: { S: `${u}@example.com` } })) }, schemas: {}, objects: [] });
});

afterAll(async () => {
  releaseStuck();
  await stack?.stop();
});

const operator = { id: 'sweep-test', role: 'operator' } as const;

async function openIds(): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of stack.jobs.openRequests(2)) ids.push(...page.map((job) => job.exportId));
  return ids;
}

describe('the request clock', () => {
  it('records when the request was received and when its answer is due, and the API shows both', async () => {
    const token = await stack.signIn('api-user');
    const response = await fetch(`${stack.baseUrl}/exports`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(202);
    const view = (await response.json()) as { exportId: string; receivedAt: string; dueBy: string; createdAt: string };
    const job = await stack.jobs.get(view.exportId);
    expect(job?.receivedAt).toBe(job?.createdAt);
    expect(Date.parse(view.dueBy) - Date.parse(view.receivedAt)).toBe(30 * DAY_MS);
    const shown = (await (await fetch(`${stack.baseUrl}/exports/${view.exportId}`, { headers: { authorization: `Bearer ${token}` } })).json()) as typeof view;
    expect({ receivedAt: shown.receivedAt, dueBy: shown.dueBy }).toEqual({ receivedAt: job?.receivedAt, dueBy: job?.dueBy });
    await stack.waitForExport(view.exportId);
  });
});

describe('the sweep', () => {
  it('turns a READY export past its retention EXPIRED, once; its link then answers 410', async () => {
    const { job } = await stack.waitForExport((await stack.startExport({ userId: 'old', formats: ['json'], actor: operator })).exportId);
    expect(job.status).toBe('READY');
    const link = linkInEmail((await stack.inbox.emailFor('old@example.com', job.exportId))!)!;
    expect((await stack.sweep()).expired).not.toContain(job.exportId);
    expect(await openIds()).toContain(job.exportId);

    clock.advance(RETENTION_DAYS * DAY_MS + 1000);
    expect((await stack.sweep()).expired).toContain(job.exportId);
    expect((await stack.jobs.get(job.exportId))?.status).toBe('EXPIRED');
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(410);
    // Out of the index: the next sweep neither reads nor expires it again.
    expect(await openIds()).not.toContain(job.exportId);
    expect((await stack.sweep()).expired).not.toContain(job.exportId);
  });

  it('closes an export that outlived the timeout with its ending lost: FAILED, lock freed, user told once, a new export can start', async () => {
    const stuck = await stack.startExport({ userId: 'stuck', formats: ['json'], actor: operator });
    lostEndings.add(stuck.exportId);
    // The runner timed the execution out; ExecutionEnded could not close the job, so it still holds the lock.
    await expect(stack.workflow.wait(stuck.exportId)).rejects.toThrow('Rate exceeded (injected)');
    expect((await stack.jobs.get(stuck.exportId))?.status).toBe('RUNNING');
    await expect(stack.startExport({ userId: 'stuck', formats: ['json'], actor: operator })).rejects.toMatchObject({ name: 'ExportInProgressError' });

    // Within the grace after the timeout, the sweep leaves it to ExecutionEnded.
    clock.advance(TIMEOUT_SECONDS * 1000);
    expect((await stack.sweep()).failed).not.toContain(stuck.exportId);
    clock.advance(TIMEOUT_GRACE_MS);
    expect((await stack.sweep()).failed).toContain(stuck.exportId);
    const closed = await stack.jobs.get(stuck.exportId);
    expect(closed).toMatchObject({ status: 'FAILED', failureReason: 'States.Timeout: The execution was timed out.' });
    expect(await stack.jobs.activeExportId('stuck')).toBeUndefined();
    expect((await stack.inbox.emailFor('stuck@example.com', stuck.exportId))?.body.text).toContain('Your export took longer than we allow and was stopped.');

    // Twice is once: no second close, email or audit event.
    expect((await stack.sweep()).failed).not.toContain(stuck.exportId);
    const emails = (await stack.inbox.emails()).filter((e) => (e.body.text ?? '').includes(stuck.exportId));
    expect(emails).toHaveLength(1);
    expect((await stack.jobs.auditTrail('stuck')).filter((e) => e.exportId === stuck.exportId && e.action === 'fail')).toHaveLength(1);
    expect(await stack.jobs.get(stuck.exportId)).toEqual(closed);

    const next = await stack.startExport({ userId: 'stuck', formats: ['json'], actor: operator });
    expect((await stack.waitForExport(next.exportId)).job.status).toBe('READY');
  });

  it('takes a failed request out of the index once a later export of the user answers it', async () => {
    failNext.add('retry');
    const failed = (await stack.waitForExport((await stack.startExport({ userId: 'retry', formats: ['json'], actor: operator })).exportId)).job;
    expect(failed.status).toBe('FAILED');
    // Still the user's latest: an unanswered request, so it stays.
    expect((await stack.sweep()).settled).not.toContain(failed.exportId);
    expect(await openIds()).toContain(failed.exportId);

    clock.advance(1000);
    const answered = (await stack.waitForExport((await stack.startExport({ userId: 'retry', formats: ['json'], actor: operator })).exportId)).job;
    expect(answered.status).toBe('READY');
    expect((await stack.sweep()).settled).toContain(failed.exportId);
    expect(await openIds()).not.toContain(failed.exportId);
    expect((await stack.jobs.get(failed.exportId))?.status).toBe('FAILED');
    expect((await stack.sweep()).settled).not.toContain(failed.exportId);
  });
});
