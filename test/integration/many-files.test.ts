// A user with thousands of uploaded files, end to end on the embedded stack: listed in pages of 1,000,
// copied into staging many at a time, each one in the archive byte for byte under its own name, the
// index listing them all, and staging removed afterwards (a delete of thousands of keys, in pages).
// How fast is the benchmark's business (npm run bench: files20kSeconds); this is what must be right.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../lambdas/core/archive/manifest.ts';
import { readArchive } from '../../local/archive-reader.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const FILES = 2_500;
const dir = mkdtempSync(join(tmpdir(), 'many-files-'));
const dataMapFile = writeDataMap(dir, [
  { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' },
  { id: 'attachments', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
]);
const names = Array.from({ length: FILES }, (_, n) => `${['photos', 'Documents', 'reçus'][n % 3]}/file ${String(n).padStart(5, '0')}${n % 250 === 0 ? ' 🎉' : ''}.txt`);

let stack: EmbeddedStack;
beforeAll(async () => {
  stack = await EmbeddedStack.start({ dataMapFile });
  await stack.loadSeed({
    tables: { Users: [{ userId: { S: 'u-many' }, email: { S: 'many@example.com' } }] },
    schemas: {},
    objects: names.map((name, n) => ({ bucket: 'uploads', key: `users/u-many/${name}`, base64: Buffer.from(`file ${n}\n`).toString('base64') })),
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe(`a user with ${FILES.toLocaleString('en-US')} files`, () => {
  it('exports every file, byte for byte under its own name, lists them all and leaves no staging behind', { timeout: 300_000 }, async () => {
    const started = await stack.startExport({ userId: 'u-many', formats: ['json'], actor: { id: 'test', role: 'operator' } });
    const { job } = await stack.waitForExport(started.exportId);
    expect(job.status).toBe('READY');
    const { zip } = await stack.inbox.downloadFromEmail('many@example.com', job.exportId);
    const path = join(dir, 'many.zip');
    writeFileSync(path, zip);
    const entries = await readArchive(path);
    const manifest = JSON.parse(entries.get('manifest.json')?.toString('utf8') ?? '') as Manifest;
    const files = manifest.files.filter((file) => file.sourceId === 'attachments');
    expect(files).toHaveLength(FILES);
    expect(files.map((file) => file.originalKey)).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    for (const file of files) {
      const n = names.indexOf(file.originalKey ?? '');
      expect(entries.get(file.path)?.toString(), file.path).toBe(`file ${n}\n`);
    }
    const page = entries.get('index.html')?.toString('utf8') ?? '';
    expect(page).toContain(`Show all ${FILES.toLocaleString('en-US')} files`);
    expect(page).toContain(`We hold 1 record and ${FILES.toLocaleString('en-US')} files you uploaded about you`);
    const staging = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.exportBucket, Prefix: `staging/${job.exportId}/` }));
    expect(staging.KeyCount ?? 0).toBe(0);
  });
});
