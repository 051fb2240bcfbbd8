// Endings that skip the state machine's Catch: the whole machine timing out and a cancel mid-run; and
// retention, which turns a READY export EXPIRED so its links refuse. Job closed, lock freed, staging
// removed, every time.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupportClient } from '../../cli/support-client.ts';
import { EmbeddedStack, LOCAL_REGION, linkInEmail } from '../../local/embedded-stack.ts';
import { aroundCollectSource } from '../support/faults.ts';
import { report } from '../support/reliability.ts';
import { writeDataMap } from '../support/data-map-file.ts';
import { DAY_MS, TestClock } from '../support/clock.ts';

const dir = mkdtempSync(join(tmpdir(), 'endings-'));
const dataMapFile = writeDataMap(dir, [
  { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' },
  { id: 'files', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
]);
const USERS = ['stuck', 'cancel-me', 'old'];
/** Shorter than the links' 72 hours, so a link still valid meets an archive that is gone. */
const RETENTION_DAYS = 2;
const clock = new TestClock();

/** A promise the test resolves, to hold a step until the test has seen what it waits for. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
const stuckGate = gate();
const cancelGate = gate();
let stack: EmbeddedStack;
let support: SupportClient;

beforeAll(async () => {
  stack = await EmbeddedStack.start({
    dataMapFile,
    retryIntervalMs: 0,
    timeoutSeconds: 2,
    retentionDays: RETENTION_DAYS,
    clock: clock.now,
    wrapTask: aroundCollectSource(async ({ userId }, collect) => {
      // A source that outlasts the whole machine's timeout: the execution times out around it.
      if (userId === 'stuck') await stuckGate.opened;
      if (userId === 'cancel-me') await cancelGate.opened;
      return collect();
    }),
  });
  await stack.loadSeed({
    tables: { Users: USERS.map((u) => ({ userId: { S: u }, email: { S: `${u}@example.com` } })) },
    schemas: {},
    objects: USERS.map((u) => ({ bucket: 'uploads', key: `users/${u}/a.txt`, base64: Buffer.from(u).toString('base64') })),
  });
  support = new SupportClient({ apiUrl: stack.baseUrl, region: LOCAL_REGION, credentials: stack.identity.supportCredentials });
});

afterAll(async () => {
  stuckGate.open();
  cancelGate.open();
  await stack?.stop();
});

async function stagingCount(exportId: string): Promise<number> {
  const listed = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.exportBucket, Prefix: `staging/${exportId}/` }));
  return listed.KeyCount ?? 0;
}

describe('endings outside the Catch', () => {
  it('the whole machine timing out: job FAILED, lock freed, staging removed, user told', async (context) => {
    const started = await stack.startExport({ userId: 'stuck', formats: ['json'], actor: { id: 'reliability', role: 'operator' } });
    // The machine's 2 s timeout ends the execution while its source still runs; ExecutionEnded closes the job.
    await expect.poll(async () => (await stack.jobs.get(started.exportId))?.status, { timeout: 15_000, interval: 100 }).toBe('FAILED');
    stuckGate.open();
    const { outcome, job } = await stack.waitForExport(started.exportId);
    expect(outcome.status).toBe('TIMED_OUT');
    expect(job.status).toBe('FAILED');
    expect(job.failureReason).toBe('States.Timeout: The execution was timed out.');
    expect(await stack.jobs.activeExportId('stuck')).toBeUndefined();
    expect(await stagingCount(job.exportId)).toBe(0);
    expect((await stack.inbox.emailFor('stuck@example.com', job.exportId))?.body.text).toContain('Your export took longer than we allow and was stopped.');
    report(context, { kind: 'State machine timeout', cases: 1, outcome: 'FAILED, lock freed, staging removed, user told', recordsLost: 0, leaks: 0 });
  });

  it('a cancel mid-run: CANCELLED, lock freed, staging removed, and its links refuse', async (context) => {
    const job = await support.start({ userId: 'cancel-me', reason: 'customer withdrew the request' });
    await expect.poll(async () => (await support.get(job.exportId)).status).toBe('RUNNING');
    const cancelled = await support.cancel(job.exportId, 'customer withdrew the request');
    expect(cancelled.status).toBe('CANCELLED');
    cancelGate.open();
    const { outcome, job: final } = await stack.waitForExport(job.exportId);
    expect(outcome.status).toBe('ABORTED');
    expect(final.status).toBe('CANCELLED');
    expect(await stack.jobs.activeExportId('cancel-me')).toBeUndefined();
    expect(await stagingCount(job.exportId)).toBe(0);
    const archives = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.exportBucket, Prefix: `archives/${job.exportId}/` }));
    expect(archives.KeyCount ?? 0).toBe(0);
    expect(await stack.inbox.emailFor('cancel-me@example.com', job.exportId)).toBeUndefined();
    report(context, { kind: 'Cancel mid-run', cases: 1, outcome: 'CANCELLED, lock freed, staging removed, no email', recordsLost: 0, leaks: 0 });
  });
});

describe('retention', () => {
  it('turns a READY export EXPIRED once its archive’s retention has passed; its link then answers 410', async (context) => {
    const started = await stack.startExport({ userId: 'old', formats: ['json'], actor: { id: 'reliability', role: 'operator' } });
    const { job } = await stack.waitForExport(started.exportId);
    expect(job.status).toBe('READY');
    const link = linkInEmail((await stack.inbox.emailFor('old@example.com', job.exportId))!)!;
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(302);
    // Two days and a second later, by the stack's clock: the archive's retention has passed.
    clock.advance(RETENTION_DAYS * DAY_MS + 1000);
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(410);
    expect(await (await fetch(link)).text()).toContain('This export has expired and its archive was deleted.');
    expect((await stack.jobs.get(job.exportId))?.status).toBe('EXPIRED');
    expect((await support.get(job.exportId)).status).toBe('EXPIRED');
    await expect(support.resend(job.exportId)).rejects.toMatchObject({ status: 410 });
    report(context, { kind: 'Retention expiry', cases: 1, outcome: 'EXPIRED; link 410, resend 410', recordsLost: 0, leaks: 0 });
  });
});
