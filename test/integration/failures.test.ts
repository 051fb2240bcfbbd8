// Failure paths through the real state machine: a source that keeps failing, a store that does not
// exist, and the lock and staging left behind. Faults the emulators cannot produce (a read that fails
// every time) are injected by wrapping the CollectSource handler.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceReadError } from '../../lambdas/core/platform/errors.ts';
import { aroundCollectSource } from '../support/faults.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'failures-'));
const dataMapFile = writeDataMap(
  dir,
  [
    { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' },
    { id: 'flaky', category: 'usage', type: 'dynamodb', table: 'Events', partitionKey: 'userId', keyTemplate: '{userId}' },
    { id: 'attachments', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
  ],
  'data-map.json',
);

/** Users whose "flaky" source fails on every read; the count shows how often the workflow retried. */
const failingUsers = new Set<string>();

const collectCalls = new Map<string, number>();

let stack: EmbeddedStack;

beforeAll(async () => {
  stack = await EmbeddedStack.start({
    dataMapFile,
    retryIntervalMs: 0,
    wrapTask: aroundCollectSource(({ userId, sourceId }, collect) => {
      const key = `${userId}/${sourceId}`;
      collectCalls.set(key, (collectCalls.get(key) ?? 0) + 1);
      if (sourceId === 'flaky' && failingUsers.has(userId)) throw new SourceReadError(sourceId, 'Rate exceeded (injected)');
      return collect();
    }),
  });
  await stack.loadSeed({
    tables: {
      Users: [
        { userId: { S: 'u-fail' }, email: { S: 'fail@example.com' } },
        { userId: { S: 'u-ok' }, email: { S: 'ok@example.com' } },
      ],
      Events: [
        { userId: { S: 'u-fail' }, n: { N: '1' } },
        { userId: { S: 'u-ok' }, n: { N: '2' } },
      ],
    },
    schemas: {},
    objects: [{ bucket: 'uploads', key: 'users/u-fail/a.txt', base64: Buffer.from('attachment').toString('base64') }],
  });
});

afterAll(async () => {
  await stack?.stop();
});

describe('a source that keeps failing', () => {
  it('is retried with backoff, then ends the export FAILED with the reason, the lock freed, staging removed and the user told', async () => {
    failingUsers.add('u-fail');
    const job = await stack.startExport({ userId: 'u-fail', formats: ['json'], actor: { id: 'test', role: 'operator' } });
    const { outcome, job: failed } = await stack.waitForExport(job.exportId);

    expect(outcome.status).toBe('FAILED');
    expect(failed.status).toBe('FAILED');
    expect(failed.failureReason).toMatch(/^SourceReadError: Rate exceeded \(injected\)/);
    // One call and five retries, as the ASL's Retry for SourceReadError says.
    expect(collectCalls.get('u-fail/flaky')).toBe(6);
    expect(await stack.jobs.activeExportId('u-fail')).toBeUndefined();

    const staging = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.exportBucket, Prefix: `staging/${job.exportId}/` }));
    expect(staging.KeyCount ?? 0).toBe(0);
    const archives = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.exportBucket, Prefix: `archives/${job.exportId}/` }));
    expect(archives.KeyCount ?? 0).toBe(0);

    const email = await stack.inbox.emailFor('fail@example.com', job.exportId);
    expect(email?.subject).toBe("We couldn't complete your data export");
    expect(email?.body.text).toContain('we stopped rather than send you an incomplete copy');
    expect(email?.body.text).not.toMatch(/Error|at .*\.ts/);

    const trail = await stack.jobs.auditTrail('u-fail');
    expect(trail.map((e) => e.action)).toEqual(expect.arrayContaining(['start', 'fail']));

    // With the lock free, the user can start again, and this time the source works.
    failingUsers.delete('u-fail');
    const retry = await stack.startExport({ userId: 'u-fail', formats: ['json'], actor: { id: 'test', role: 'operator' } });
    expect((await stack.waitForExport(retry.exportId)).job.status).toBe('READY');
  });
});

describe('a store the data map names but that does not exist', () => {
  it('fails the export without pointless retries and says which source', async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'missing-'));
    // Same stack, but the job asks only for the category whose table is missing.
    await stack.stop();
    const mapFile = writeDataMap(dir2, [
      { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' },
      { id: 'ghost', category: 'usage', type: 'dynamodb', table: 'NoSuchTable', partitionKey: 'userId', keyTemplate: '{userId}' },
    ]);
    stack = await EmbeddedStack.start({ dataMapFile: mapFile, retryIntervalMs: 0 });
    await stack.loadSeed({
      tables: { Users: [{ userId: { S: 'u-ghost' }, email: { S: 'ghost@example.com' } }] },
      schemas: { NoSuchTable: { partitionKey: 'userId' } },
      objects: [],
    });
    const { DeleteTableCommand } = await import('@aws-sdk/client-dynamodb');
    await stack.dynamodb.send(new DeleteTableCommand({ TableName: 'NoSuchTable' }));

    const job = await stack.startExport({ userId: 'u-ghost', formats: ['csv'], actor: { id: 'test', role: 'operator' } });
    const { job: failed } = await stack.waitForExport(job.exportId);
    expect(failed.status).toBe('FAILED');
    expect(failed.failureReason).toMatch(/^SourceUnavailableError: Source "ghost" cannot be read \(ResourceNotFoundException\)/);
    expect(failed.failureMessage).toContain('could not be reached');
    expect(await stack.jobs.activeExportId('u-ghost')).toBeUndefined();
  });
});

describe('the per-user lock', () => {
  it('refuses a second export while one is active, naming the active one', async () => {
    await stack.loadSeed({ tables: { Users: [{ userId: { S: 'u-busy' }, email: { S: 'busy@example.com' } }] }, schemas: { NoSuchTable: { partitionKey: 'userId' } }, objects: [] });
    const first = await stack.startExport({ userId: 'u-busy', formats: ['json'], actor: { id: 'test', role: 'operator' } });
    await expect(stack.startExport({ userId: 'u-busy', formats: ['json'], actor: { id: 'test', role: 'operator' } })).rejects.toThrow(
      `An export for this user is already running (${first.exportId})`,
    );
    await stack.waitForExport(first.exportId);
  });
});
