// Sizes past the classic ZIP limits, through the production bundler: an entry of 4.5 GB (past 4 GiB,
// the 32-bit size field) and an archive of 70,000 entries (past 65,535). Generated, not stored: the big
// file is a sparse file of zeros, the objects are tiny. An independent reader (yauzl) checks every
// entry's size and CRC-32 (zlib.crc32) against the central directory.
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../lambdas/core/platform/clock.ts';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { buildUntilDone } from '../../lambdas/core/archive/build-archive.ts';
import { parseDataMap } from '../../lambdas/core/data-map/data-map.ts';
import { partKey, stagedObjectKey } from '../../lambdas/core/storage/object-keys.ts';
import { forEachEntry } from '../../local/archive-reader.ts';
import { FileBackedS3 } from '../../local/file-backed-s3.ts';
import { answerable, TEST_REQUEST } from '../support/answer-facts.ts';
import { ARCHIVE_DOCUMENTS } from '../../lambdas/core/archive/manifest.ts';

const BUCKET = 'exports';
/** index.html, about-this-export.json, manifest.json, datapackage.json: in every archive, beside the data files. */
const DOCUMENTS = Object.keys(ARCHIVE_DOCUMENTS).length;
const folders: string[] = [];
const tempFolder = (name: string) => {
  const folder = mkdtempSync(join(tmpdir(), name));
  folders.push(folder);
  return folder;
};
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});
const dataMap = parseDataMap(answerable({ sources: [{ id: 'files', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' }] }));

/** Stages an S3 source's objects the way the collector does: one listing part, one object per entry. */
function stage(store: FileBackedS3, exportId: string, objects: { key: string; size: number; write: (path: string) => void }[]) {
  mkdirSync(join(store.root, BUCKET), { recursive: true });
  const lines = objects.map((o, sequence) => {
    o.write(store.path(BUCKET, stagedObjectKey(exportId, 'files', sequence)));
    return JSON.stringify({ sequence, key: o.key, size: o.size });
  });
  writeFileSync(store.path(BUCKET, partKey(exportId, 'files', 0)), `${lines.join('\n')}\n`);
}

async function bundle(store: FileBackedS3, exportId: string, records: number) {
  const s3 = store.asClient();
  const result = await buildUntilDone(
    { exportId, userId: 'u-1', formats: ['json'], request: TEST_REQUEST, sources: [{ sourceId: 'files', nextPart: 1, records }] },
    { s3, now: systemClock, exportBucket: { s3, bucket: BUCKET, kmsKeyId: 'test' }, dataMap },
  );
  return { result, path: store.path(BUCKET, result.archiveKey) };
}

/** Reads every entry with yauzl, checking its size and CRC-32 against the central directory. */
async function verify(path: string) {
  let entries = 0;
  let largest = 0;
  const problems: string[] = [];
  await forEachEntry(path, async (entry, read) => {
    entries += 1;
    let size = 0;
    let crc = 0;
    for await (const chunk of await read()) {
      crc = crc32(chunk as Buffer, crc);
      size += (chunk as Buffer).length;
    }
    if (size !== entry.uncompressedSize) problems.push(`${entry.fileName}: ${size} bytes read, ${entry.uncompressedSize} in the directory`);
    if (crc !== entry.crc32) problems.push(`${entry.fileName}: CRC-32 differs`);
    largest = Math.max(largest, size);
  });
  return { entries, largest, problems };
}

describe('ZIP64', () => {
  it('bundles an entry of 4.5 GB that an independent reader verifies', { timeout: 600_000 }, async () => {
    const store = new FileBackedS3(tempFolder('zip64-big-'));
    const size = 4.5 * 1024 ** 3;
    stage(store, 'big-entry-0001', [
      {
        key: 'scan.raw',
        size,
        write: (path) => {
          // A sparse file: 4.5 GB of zeros without writing 4.5 GB.
          const fd = openSync(path, 'w');
          ftruncateSync(fd, size);
          closeSync(fd);
        },
      },
    ]);
    const { result, path } = await bundle(store, 'big-entry-0001', 1);
    expect(result.entryBytes).toBe(size);
    const check = await verify(path);
    expect(check.problems).toEqual([]);
    expect(check.entries).toBe(1 + DOCUMENTS);
    expect(check.largest).toBe(size);
  });

  it('bundles 70,000 entries that an independent reader verifies', { timeout: 600_000 }, async () => {
    const store = new FileBackedS3(tempFolder('zip64-many-'));
    const count = 70_000;
    stage(
      store,
      'many-entries-01',
      Array.from({ length: count }, (_, i) => {
        const text = `file ${i}\n`;
        return { key: `inbox/${String(i).padStart(5, '0')}.txt`, size: text.length, write: (p: string) => writeFileSync(p, text) };
      }),
    );
    const { path } = await bundle(store, 'many-entries-01', count);
    const check = await verify(path);
    expect(check.problems).toEqual([]);
    expect(check.entries).toBe(count + DOCUMENTS);
  });
});
