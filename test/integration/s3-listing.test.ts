// The S3 collector resumes after the last key it staged (StartAfter), in S3's UTF-8 byte order, so a
// source whose objects change between invocations is read exactly once per object that is there when
// the listing reaches it: nothing skipped, nothing staged twice. Every invocation here stages one object,
// and the prefix is changed between them.
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchive } from '../../local/archive-reader.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import { aroundCollectSource } from '../support/faults.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const dir = mkdtempSync(join(tmpdir(), 's3-listing-'));
const dataMapFile = writeDataMap(dir, [
  { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' },
  { id: 'files', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
]);

/** Changes to make to a user's prefix after the n-th CollectSource call of its files source. */
const changes = new Map<string, Map<number, () => Promise<void>>>();
const calls = new Map<string, number>();

let stack: EmbeddedStack;

const put = (userId: string, name: string) => stack.s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: `users/${userId}/${name}`, Body: name }));
const remove = (userId: string, name: string) => stack.s3.send(new DeleteObjectCommand({ Bucket: 'uploads', Key: `users/${userId}/${name}` }));

beforeAll(async () => {
  stack = await EmbeddedStack.start({
    dataMapFile,
    // Every call works past its budget at once: one object per invocation, a cursor after each.
    collectBudgetSeconds: 0.001,
    retryIntervalMs: 0,
    wrapTask: aroundCollectSource(async ({ userId, sourceId }, collect) => {
      const result = await collect();
      if (sourceId === 'files') {
        const n = (calls.get(userId) ?? 0) + 1;
        calls.set(userId, n);
        await changes.get(userId)?.get(n)?.();
      }
      return result;
    }),
  });
  await stack.loadSeed({ tables: { Users: ['mover', 'wide'].map((u) => ({ userId: { S: u }, email: { S: `${u}@example.com` } })) }, schemas: {}, objects: [] });
});

afterAll(async () => {
  await stack?.stop();
});

async function exportedFiles(userId: string): Promise<string[]> {
  const started = await stack.startExport({ userId, formats: ['json'], actor: { id: 'test', role: 'operator' } });
  const { job } = await stack.waitForExport(started.exportId);
  expect(job.status).toBe('READY');
  const { zip } = await stack.inbox.downloadFromEmail(`${userId}@example.com`, job.exportId);
  const path = join(dir, `${userId}.zip`);
  writeFileSync(path, zip);
  const entries = await readArchive(path);
  return [...entries.keys()].filter((p) => p.startsWith('communication/files/')).map((p) => p.slice('communication/files/'.length));
}

describe('the S3 collector across invocations', () => {
  it('stages each object present when the listing reaches it exactly once, as objects come and go', async () => {
    for (const name of ['f-01', 'f-02', 'f-03', 'f-04', 'f-05']) await put('mover', name);
    changes.set(
      'mover',
      new Map([
        // After f-01: one not yet reached goes, one comes after the cursor, one behind it (already passed).
        [
          1,
          async () => {
            await remove('mover', 'f-03');
            await put('mover', 'f-06');
            await put('mover', 'f-00');
          },
        ],
        // After f-02: one already staged goes; it stays in the export, staged before it went.
        [
          2,
          async () => {
            await remove('mover', 'f-01');
          },
        ],
      ]),
    );
    const files = await exportedFiles('mover');
    expect(files.sort()).toEqual(['f-01', 'f-02', 'f-04', 'f-05', 'f-06']);
    expect(calls.get('mover')).toBeGreaterThanOrEqual(5);
  });

  it('resumes in UTF-8 byte order, where it differs from JavaScript’s string order', async () => {
    // UTF-16 sorts 😀 (D83D) before ！ (FF01); S3's bytes put ！ (EF BC 81) before 😀 (F0 9F 98 80).
    const names = ['a', 'z', 'é', '！', '😀'];
    for (const name of names) await put('wide', name);
    const files = await exportedFiles('wide');
    expect(files.sort()).toEqual([...names].sort());
    expect(calls.get('wide')).toBeGreaterThanOrEqual(names.length);
  });
});
