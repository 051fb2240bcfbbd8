// Faults real AWS produces and the emulators cannot: injected into the clients or handlers, with the
// real state machine and handlers around them. Each case asserts the exact outcome and counts every
// seeded record in the archive: none lost, none duplicated, none of another user.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupportClient } from '../../cli/support-client.ts';
import { SourceReadError } from '../../lambdas/core/platform/errors.ts';
import type { SdkClient } from '../../lambdas/core/runtime.ts';
import { readArchive, verifyArchive } from '../../local/archive-reader.ts';
import { EmbeddedStack, LOCAL_REGION } from '../../local/embedded-stack.ts';
import { aroundCollectSource } from '../support/faults.ts';
import { report } from '../support/reliability.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'faults-'));
const dataMapFile = writeDataMap(dir, [
  { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' },
  { id: 'events', category: 'usage', type: 'dynamodb', table: 'Events', partitionKey: 'userId', keyTemplate: '{userId}', sortKey: 'eventId' },
  { id: 'files', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
]);
const USERS = ['heavy-1', 'heavy-2', 'heavy-3', 'big', 'crash', 'mailfail'];
const HEAVY_EVENTS = 3000;
const eventsOf = (userId: string) => (userId.startsWith('heavy') ? HEAVY_EVENTS : 3);
const BIG_FILES = [randomBytes(6 * 1024 * 1024), randomBytes(6 * 1024 * 1024)];

type Send = (command: unknown, ...rest: unknown[]) => Promise<unknown>;
/** Runs `before` ahead of every command the client sends (and may throw in its place). */
function intercept(client: { send: unknown }, before: (command: { constructor: { name: string }; input: Record<string, unknown> }) => void): void {
  const send = (client.send as Send).bind(client);
  client.send = (command: never, ...rest: unknown[]) => {
    before(command);
    return send(command, ...rest);
  };
}
const fault = (name: string, message: string) => Object.assign(new Error(message), { name });

// Fault switches the tests flip; the handlers' clients consult them on every call.
const throttleQueriesOf = new Map<string, number[]>(); // userId → which Query calls (1-based) to throttle
const queryCalls = new Map<string, number>();
let failUploadPartOnce = false;
const abortedUploads: string[] = [];
let sesRefuses = false;
let sendAttempts = 0;
const crashAfterWrite = new Set<string>();
const collectCalls = new Map<string, number>();

/** Faults inside each function's own clients, so IAM is still checked on every call. */
function faultyClient(client: SdkClient): void {
  if (client instanceof DynamoDBClient)
    intercept(client, (command) => {
      if (command.constructor.name !== 'QueryCommand' || command.input.TableName !== 'Events') return;
      const userId = (command.input.ExpressionAttributeValues as Record<string, { S: string }>)[':pk']?.S ?? '';
      const call = (queryCalls.get(userId) ?? 0) + 1;
      queryCalls.set(userId, call);
      if (throttleQueriesOf.get(userId)?.includes(call)) throw fault('ProvisionedThroughputExceededException', 'Rate of requests exceeds the allowed throughput.');
    });
  if (client instanceof S3Client)
    intercept(client, (command) => {
      const key = typeof command.input.Key === 'string' ? command.input.Key : '';
      if (command.constructor.name === 'UploadPartCommand' && key.startsWith('archives/') && command.input.PartNumber === 2 && failUploadPartOnce) {
        failUploadPartOnce = false;
        throw fault('InternalError', 'We encountered an internal error. Please try again.');
      }
      if (command.constructor.name === 'AbortMultipartUploadCommand') abortedUploads.push(key);
    });
  if (client instanceof SESv2Client)
    intercept(client, (command) => {
      if (command.constructor.name !== 'SendEmailCommand') return;
      const to = (command.input.Destination as { ToAddresses: string[] }).ToAddresses;
      if (!to.includes('mailfail@example.com')) return;
      sendAttempts += 1;
      if (sesRefuses) throw fault('MessageRejected', 'Email address is not verified.');
    });
}

let stack: EmbeddedStack;

beforeAll(async () => {
  stack = await EmbeddedStack.start({
    dataMapFile,
    retryIntervalMs: 0,
    // One page per CollectSource call, so a fault lands between the pages of one source.
    collectBudgetSeconds: 0.001,
    wrapClient: faultyClient,
    wrapTask: aroundCollectSource(async ({ userId, sourceId }, collect) => {
      collectCalls.set(`${userId}/${sourceId}`, (collectCalls.get(`${userId}/${sourceId}`) ?? 0) + 1);
      const result = await collect();
      if (sourceId === 'events' && crashAfterWrite.delete(userId)) throw new SourceReadError(sourceId, 'Connection reset (injected)');
      return result;
    }),
  });
  await stack.loadSeed({
    tables: {
      Users: USERS.map((u) => ({ userId: { S: u }, email: { S: `${u}@example.com` } })),
      Events: USERS.flatMap((u) =>
        Array.from({ length: eventsOf(u) }, (_, i) => ({
          userId: { S: u },
          eventId: { S: `e-${String(i).padStart(5, '0')}` },
          n: { N: String(i) },
          payload: { S: `${u}:${i}:${'x'.repeat(400)}` },
        })),
      ),
    },
    schemas: {},
    objects: BIG_FILES.map((bytes, i) => ({ bucket: 'uploads', key: `users/big/scan-${i}.bin`, base64: bytes.toString('base64') })),
  });
});

afterAll(async () => {
  await stack?.stop();
});

/** Exports a user and counts, record by record, what the archive holds against what was seeded. */
async function exportAndCount(userId: string) {
  const started = await stack.startExport({ userId, formats: ['json'], actor: { id: 'reliability', role: 'operator' } });
  const { job } = await stack.waitForExport(started.exportId);
  if (job.status !== 'READY') return { job, lost: eventsOf(userId), leaks: 0, duplicates: 0 };
  const { zip } = await stack.inbox.downloadFromEmail(`${userId}@example.com`, job.exportId);
  const path = join(dir, `${job.exportId}.zip`);
  writeFileSync(path, zip);
  expect((await verifyArchive(path)).problems).toEqual([]);
  const events = JSON.parse((await readArchive(path)).get('usage/events.json')?.toString() ?? '[]') as { userId: string; eventId: string; n: number }[];
  const ids = new Set(events.map((e) => e.eventId));
  const wanted = Array.from({ length: eventsOf(userId) }, (_, i) => `e-${String(i).padStart(5, '0')}`);
  return {
    job,
    path,
    lost: wanted.filter((id) => !ids.has(id)).length,
    duplicates: events.length - ids.size,
    leaks: events.filter((e) => e.userId !== userId).length,
  };
}

describe('faults', () => {
  it('DynamoDB throttling in the middle of a paged Query: retried, nothing lost or duplicated', async (context) => {
    // Throttle the first page; a middle page; and the same page twice in a row.
    const plans: [string, number[]][] = [
      ['heavy-1', [1]],
      ['heavy-2', [2]],
      ['heavy-3', [2, 3]],
    ];
    let lost = 0;
    let leaks = 0;
    for (const [userId, calls] of plans) {
      throttleQueriesOf.set(userId, calls);
      const result = await exportAndCount(userId);
      expect(result.job.status).toBe('READY');
      expect(result.duplicates).toBe(0);
      expect(result.lost).toBe(0);
      expect(result.leaks).toBe(0);
      // Every throttled call was repeated: the source needed that many more Query calls.
      expect(queryCalls.get(userId)).toBe((result.job.sources.events?.parts ?? 0) + calls.length);
      expect(result.job.sources.events?.parts).toBeGreaterThan(1);
      lost += result.lost + result.duplicates;
      leaks += result.leaks;
    }
    report(context, { kind: 'DynamoDB throttling mid-Query', cases: plans.length, outcome: 'retried with backoff; all READY, every record once', recordsLost: lost, leaks });
  });

  it('S3 failing in the middle of the multipart upload: aborted, retried, one correct archive', async (context) => {
    failUploadPartOnce = true;
    const started = await stack.startExport({ userId: 'big', formats: ['json'], actor: { id: 'reliability', role: 'operator' } });
    const { job } = await stack.waitForExport(started.exportId);
    expect(job.failureReason).toBeUndefined();
    expect(job.status).toBe('READY');
    expect(failUploadPartOnce).toBe(false);
    expect(abortedUploads).toEqual([job.archiveKey]);
    const archives = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.exportBucket, Prefix: `archives/${job.exportId}/` }));
    expect(archives.KeyCount).toBe(1);
    const { zip } = await stack.inbox.downloadFromEmail('big@example.com', job.exportId);
    const path = join(dir, 'big.zip');
    writeFileSync(path, zip);
    expect(zip.length).toBeGreaterThan(12 * 1024 * 1024);
    expect((await verifyArchive(path)).problems).toEqual([]);
    const entries = await readArchive(path);
    const lost = BIG_FILES.filter((bytes, i) => !entries.get(`communication/files/scan-${i}.bin`)?.equals(bytes)).length;
    expect(lost).toBe(0);
    report(context, { kind: 'S3 failure mid multipart upload', cases: 1, outcome: 'upload aborted, BundleArchive retried, one valid archive', recordsLost: lost, leaks: 0 });
  });

  it('a collector crashing after writing its part: the retry overwrites that part, counts stay exact', async (context) => {
    crashAfterWrite.add('crash');
    const result = await exportAndCount('crash');
    expect(result.job.status).toBe('READY');
    expect(collectCalls.get('crash/events')).toBe(2);
    expect(result.job.sources.events).toEqual({ records: 3, parts: 1, done: true });
    expect(result.lost + result.duplicates).toBe(0);
    report(context, {
      kind: 'Collector crash after writing a part',
      cases: 1,
      outcome: 'retried with the same input; part overwritten',
      recordsLost: result.lost + result.duplicates,
      leaks: result.leaks,
    });
  });

  it('SES refusing the send: retried, then FAILED with an alarm metric; resend later delivers a working link', async (context) => {
    sesRefuses = true;
    const started = await stack.startExport({ userId: 'mailfail', formats: ['json'], actor: { id: 'reliability', role: 'operator' } });
    const { job } = await stack.waitForExport(started.exportId);
    expect(job.status).toBe('FAILED');
    expect(job.failureReason).toMatch(/^DeliveryError: Sending the email failed: Email address is not verified\./);
    expect(job.failureMessage).toBe('Your archive was built, but we could not email you the download link. Our team has been alerted.');
    // SendLink: the first try and the ASL's 4 retries; then MarkFailed's own notice, also refused.
    expect(sendAttempts).toBe(6);
    expect(stack.metrics.filter((m) => m.name === 'DeliveryFailures')).toHaveLength(5);
    expect(await stack.jobs.activeExportId('mailfail')).toBeUndefined();

    sesRefuses = false;
    const support = new SupportClient({ apiUrl: stack.baseUrl, region: LOCAL_REGION, credentials: stack.identity.supportCredentials });
    const resent = await support.resend(job.exportId, 'mail server was down');
    expect(resent.status).toBe('READY');
    const { zip } = await stack.inbox.downloadFromEmail('mailfail@example.com', job.exportId);
    const path = join(dir, 'mailfail.zip');
    writeFileSync(path, zip);
    const events = JSON.parse((await readArchive(path)).get('usage/events.json')?.toString() ?? '[]') as unknown[];
    expect(events).toHaveLength(3);
    report(context, {
      kind: 'SES refusing the send',
      cases: 1,
      outcome: 'retried 4×, FAILED + DeliveryFailures metric; resend delivered',
      recordsLost: 3 - events.length,
      leaks: 0,
    });
  });
});
