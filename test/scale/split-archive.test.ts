// Archives split at maxArchiveBytes, through the production bundler: every part is a complete ZIP under
// the limit that an independent reader (yauzl) verifies, records files are cut only between records
// (each piece valid JSON or CSV on its own), a large file's pieces join back to its exact bytes, and the
// manifest in the last part says which part holds what.
import { systemClock } from '../../lambdas/core/platform/clock.ts';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { itemToJson } from '../../lambdas/core/values/attribute-values.ts';
import { stagedColumns, type ColumnTypes } from '../../lambdas/core/values/column-types.ts';
import { datapackageProblems, type Datapackage } from '../../local/datapackage-check.ts';
import { buildArchive, buildUntilDone, type ArchiveDeps } from '../../lambdas/core/archive/build-archive.ts';
import { parseDataMap } from '../../lambdas/core/data-map/data-map.ts';
import type { Manifest } from '../../lambdas/core/archive/manifest.ts';
import { archiveKey, columnsKey, partKey, stagedObjectKey } from '../../lambdas/core/storage/object-keys.ts';
import { readArchive } from '../../local/archive-reader.ts';
import { FileBackedS3 } from '../../local/file-backed-s3.ts';
import { answerable, TEST_REQUEST } from '../support/answer-facts.ts';

const BUCKET = 'exports';
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

const dataMap = parseDataMap(
  answerable({
    sources: [
      { id: 'usage-events', category: 'usage', type: 'dynamodb', table: 'UsageEvents', partitionKey: 'userId', keyTemplate: '{userId}' },
      { id: 'attachments', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
    ],
  }),
);

const event = (n: number) => ({
  userId: { S: 'u-1' },
  eventId: { S: `evt-${String(n).padStart(6, '0')}` },
  // Random text so that the archive does not shrink to nothing: parts must actually fill up.
  detail: { S: randomBytes(48).toString('base64') },
  amount: { N: n % 7 === 0 ? '12345678901234567890.123456789' : String(n) },
  ...(n % 5 === 0 ? { note: { S: '=SUM(A1), "quoted"' } } : {}),
});

/** Stages what the collector would: records in two parts with their columns, and three S3 objects. */
function stage(store: FileBackedS3, exportId: string, records: number, files: { key: string; bytes: Buffer }[]) {
  mkdirSync(join(store.root, BUCKET), { recursive: true });
  const half = Math.ceil(records / 2);
  for (const [part, range] of [
    [0, [0, half]],
    [1, [half, records]],
  ] as const) {
    const columns: ColumnTypes = new Map();
    const lines = Array.from({ length: range[1] - range[0] }, (_, i) => itemToJson(event(range[0] + i), columns) + '\n');
    writeFileSync(store.path(BUCKET, partKey(exportId, 'usage-events', part)), lines.join(''));
    writeFileSync(store.path(BUCKET, columnsKey(exportId, 'usage-events', part)), stagedColumns(columns));
  }
  files.forEach((file, sequence) => writeFileSync(store.path(BUCKET, stagedObjectKey(exportId, 'attachments', sequence)), file.bytes));
  writeFileSync(
    store.path(BUCKET, partKey(exportId, 'attachments', 0)),
    files.map((file, sequence) => JSON.stringify({ sequence, key: file.key, size: file.bytes.length }) + '\n').join(''),
  );
}

type Staged = { key: string; bytes: Buffer }[];

async function bundle(
  exportId: string,
  records: number,
  files: Staged,
  maxArchiveBytes?: number,
  prepare?: (store: FileBackedS3) => void,
  formats: ('json' | 'csv')[] = ['json', 'csv'],
  timing: Partial<ArchiveDeps> & { deadlineOf?: () => number } = {},
) {
  const folder = mkdtempSync(join(tmpdir(), 'split-'));
  folders.push(folder);
  const store = new FileBackedS3(folder);
  stage(store, exportId, records, files);
  prepare?.(store);
  const s3 = store.asClient();
  const result = await buildUntilDone(
    {
      exportId,
      userId: 'u-1',
      formats,
      request: TEST_REQUEST,
      sources: [
        { sourceId: 'usage-events', nextPart: 2, records },
        { sourceId: 'attachments', nextPart: 1, records: files.length },
      ],
    },
    { s3, now: systemClock, exportBucket: { s3, bucket: BUCKET, kmsKeyId: 'test' }, dataMap, maxArchiveBytes, ...timing },
    timing.deadlineOf,
  );
  const parts = Array.from({ length: result.archiveParts }, (_, i) => store.path(BUCKET, archiveKey(exportId, i + 1)));
  return { result, parts, store };
}

/**
 * Reads every part with yauzl (which checks each entry's CRC-32 and size) and checks the manifest in
 * the last part against them: every file where it says, with its sha256; records files whose pieces are
 * each valid JSON or CSV and together hold every record once, in order; objects whose pieces join back
 * to their bytes.
 */
async function verify(parts: string[], records: number, files: Staged, limit?: number) {
  const contents: Map<string, Buffer>[] = [];
  for (const part of parts) {
    if (limit !== undefined) expect(statSync(part).size).toBeLessThanOrEqual(limit);
    contents.push(await readArchive(part));
  }
  const last = contents.at(-1);
  const manifest = JSON.parse(last?.get('manifest.json')?.toString() ?? '{}') as Manifest;
  expect(last?.has('index.html')).toBe(true);
  const read = (file: { archivePart: number; path: string }) => contents[file.archivePart - 1]?.get(file.path);
  for (const file of manifest.files) {
    const bytes = read(file);
    expect(bytes, `${file.path} in part ${file.archivePart}`).toBeDefined();
    expect(
      createHash('sha256')
        .update(bytes ?? Buffer.alloc(0))
        .digest('hex'),
    ).toBe(file.sha256);
    expect(bytes?.length).toBe(file.bytes);
  }
  const paths = manifest.files.map((f) => f.path);
  expect(new Set(paths).size).toBe(paths.length);

  const jsonPieces = manifest.files.filter((f) => f.sourceId === 'usage-events' && f.format === 'json');
  expect(jsonPieces[0]?.path).toBe('usage/usage-events.json');
  expect(jsonPieces.slice(1).every((f) => f.continues === 'usage/usage-events.json')).toBe(true);
  const fromJson = jsonPieces.flatMap((f) => JSON.parse(read(f)?.toString() ?? '') as { eventId: string }[]);
  expect(fromJson.map((r) => r.eventId)).toEqual(Array.from({ length: records }, (_, n) => `evt-${String(n).padStart(6, '0')}`));
  expect(jsonPieces.reduce((sum, f) => sum + (f.records ?? 0), 0)).toBe(records);
  // Exact digits survive the cut too.
  expect(jsonPieces.map((f) => read(f)?.toString()).join('')).toContain('"amount":12345678901234567890.123456789');

  const csvPieces = manifest.files.filter((f) => f.sourceId === 'usage-events' && f.format === 'csv');
  // Each piece is a CSV of its own: byte-order mark, header, rows.
  for (const piece of csvPieces) expect(read(piece)?.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  const tables = csvPieces.map((f): string[][] => parse(read(f)?.toString().slice(1) ?? ''));
  for (const table of tables) expect(table[0]).toEqual(['userId', 'amount', 'detail', 'eventId', 'note']);
  const rows = tables.flatMap((table) => table.slice(1));
  expect(rows).toHaveLength(records);
  expect(rows[5]?.[4]).toBe(`'=SUM(A1), "quoted"`);

  for (const staged of files) {
    const pieces = manifest.files.filter((f) => f.originalKey === staged.key);
    expect(pieces.slice(1).map((f) => f.path)).toEqual(pieces.slice(1).map((_, i) => `${pieces[0]?.path}.part-${i + 2}`));
    expect(Buffer.concat(pieces.map((f) => read(f) ?? Buffer.alloc(0))).equals(staged.bytes), staged.key).toBe(true);
  }
  // datapackage.json, whole in the last part, describes every piece of every part.
  expect(last?.has('datapackage.json')).toBe(true);
  expect(datapackageProblems(new Map(contents.flatMap((entries) => [...entries])))).toEqual([]);
  return { manifest, contents };
}

describe('split archives', () => {
  const records = 12_000;
  const files = [
    { key: 'big-scan.pdf', bytes: randomBytes(700 * 1024) },
    { key: 'note.txt', bytes: Buffer.from('a small file\n') },
    { key: 'empty.bin', bytes: Buffer.alloc(0) },
  ];
  const limit = 256 * 1024;

  it('writes numbered parts, each a complete ZIP under the limit, that hold every byte exactly once', { timeout: 120_000 }, async () => {
    const { result, parts } = await bundle('split-0000-0001', records, files, limit);
    expect(result.archiveParts).toBeGreaterThan(3);
    expect(result.archiveKey).toBe(archiveKey('split-0000-0001'));
    expect(parts[1]).toMatch(/user-data-export-split-0000-0001-part-2\.zip$/);

    const { manifest } = await verify(parts, records, files, limit);
    expect(result.archiveBytes).toBe(parts.reduce((sum, part) => sum + statSync(part).size, 0));
    expect(manifest.files.filter((f) => f.sourceId === 'usage-events' && f.format === 'json').length).toBeGreaterThan(1);
    expect(manifest.files.filter((f) => f.sourceId === 'usage-events' && f.format === 'csv').length).toBeGreaterThan(1);
    expect(manifest.files.find((f) => f.path === 'usage/usage-events-part-2.json')?.continues).toBe('usage/usage-events.json');
    // A file larger than a part: pieces that join back to its exact bytes.
    expect(manifest.files.filter((f) => f.originalKey === 'big-scan.pdf').length).toBeGreaterThan(2);
    expect(manifest.files.find((f) => f.originalKey === 'empty.bin')?.bytes).toBe(0);
    // A records piece is a CSV or JSON of its own, so a resource of its own; a file's pieces join into one.
    const { resources } = JSON.parse((await readArchive(parts.at(-1) ?? '')).get('datapackage.json')?.toString() ?? '{}') as Datapackage;
    const scan = manifest.files.filter((f) => f.originalKey === 'big-scan.pdf').map((f) => f.path);
    expect(resources.find((r) => r.path === scan[0] || r.path[0] === scan[0])).toMatchObject({ path: scan, format: 'pdf', mediatype: 'application/pdf' });
    expect(resources.find((r) => r.path === 'usage/usage-events-part-2.csv')).toMatchObject({ name: 'usage/usage-events-part-2.csv', profile: 'tabular-data-resource' });
  });

  it('writes one plain ZIP when no limit is set', { timeout: 60_000 }, async () => {
    const { result, parts } = await bundle('split-0000-0002', 2_000, files);
    expect(result.archiveParts).toBe(1);
    expect(parts).toEqual([expect.stringMatching(/user-data-export-split-0000-0002\.zip$/)]);
    const manifest = JSON.parse((await readArchive(parts[0] ?? '')).get('manifest.json')?.toString() ?? '{}') as Manifest;
    expect(manifest.files.every((f) => f.archivePart === 1 && f.continues === undefined)).toBe(true);
  });

  it('refuses parts staged in another format (no column list), even when only JSON is asked for', { timeout: 60_000 }, async () => {
    const olderStaging = (store: FileBackedS3) => unlinkSync(store.path(BUCKET, columnsKey('split-0000-0004', 'usage-events', 1)));
    await expect(bundle('split-0000-0004', 100, files, undefined, olderStaging, ['json'])).rejects.toThrow(
      'Part 1 of source "usage-events" has no column list; it was staged by another version of the collector. Start the export again.',
    );
  });

  it('refuses parts whose column list is the earlier form, names without types', { timeout: 60_000 }, async () => {
    const namesOnly = (store: FileBackedS3) => writeFileSync(store.path(BUCKET, columnsKey('split-0000-0006', 'usage-events', 1)), JSON.stringify(['userId', 'eventId']));
    await expect(bundle('split-0000-0006', 100, files, undefined, namesOnly, ['json'])).rejects.toThrow(
      'Part 1 of source "usage-events" has a column list without types; it was staged by another version of the collector. Start the export again.',
    );
  });

  it('goes on in the next call when its time budget runs out, each call finishing a complete part', { timeout: 120_000 }, async () => {
    // Each read of the clock is a second later, and each call has 2.5 s: a call writes a few blocks,
    // then finishes its part and saves where it stands; the next goes on from there.
    let clock = 0;
    const timing = { blockBytes: 64 * 1024, now: () => new Date((clock += 1000)), deadlineOf: () => clock + 2500 };
    // A second large file, after others: a call cut inside it goes on at its offset too.
    const withSecond = [...files, { key: 'second-scan.pdf', bytes: randomBytes(300 * 1024) }];
    const { result, parts, store } = await bundle('split-0000-0005', records, withSecond, undefined, undefined, ['json', 'csv'], timing);
    expect(result.calls).toBeGreaterThan(10);
    // Every call but the last ends its part early; the last writes index.html and manifest.json.
    expect(result.archiveParts).toBe(result.calls);
    const { manifest } = await verify(parts, records, withSecond);
    // The time cut files like a size cut: pieces that continue, and the big files go on mid-way.
    expect(manifest.files.filter((f) => f.originalKey === 'big-scan.pdf').length).toBeGreaterThan(1);
    expect(manifest.files.filter((f) => f.originalKey === 'second-scan.pdf').length).toBeGreaterThan(1);
    expect(manifest.generatedAt).toBe(new Date(1000).toISOString());
    // What a call saved for the next is gone with the rest of staging.
    expect(store.list(BUCKET).filter((key) => key.startsWith('staging/'))).toEqual([]);
  });

  it('a call retried from the same resume point overwrites its own part and save', { timeout: 120_000 }, async () => {
    let clock = 0;
    const folder = mkdtempSync(join(tmpdir(), 'split-'));
    folders.push(folder);
    const store = new FileBackedS3(folder);
    const exportId = 'split-0000-0006';
    stage(store, exportId, 3000, files);
    const s3 = store.asClient();
    const request = {
      exportId,
      userId: 'u-1',
      formats: ['json', 'csv'] as ('json' | 'csv')[],
      request: TEST_REQUEST,
      sources: [
        { sourceId: 'usage-events', nextPart: 2, records: 3000 },
        { sourceId: 'attachments', nextPart: 1, records: files.length },
      ],
    };
    const deps = () => ({
      s3,
      exportBucket: { s3, bucket: BUCKET, kmsKeyId: 'test' },
      dataMap,
      blockBytes: 64 * 1024,
      now: () => new Date((clock += 1000)),
      deadline: clock + 2500,
    });
    const first = await buildArchive(request, deps());
    if (first.done) throw new Error('the first call should have run out of time');
    // The Lambda dies after saving; Step Functions retries with the same input, twice.
    for (let retry = 0; retry < 2; retry += 1) {
      const again = await buildArchive({ ...request, resume: first.resume }, deps());
      expect(again).toMatchObject({ done: false, resume: { partsDone: first.resume.partsDone + 1 } });
    }
    const result = await buildUntilDone({ ...request, resume: { partsDone: first.resume.partsDone + 1 } }, deps(), () => undefined);
    const parts = Array.from({ length: result.archiveParts }, (_, i) => store.path(BUCKET, archiveKey(exportId, i + 1)));
    await verify(parts, 3000, files);
  });

  it('says so when the saved progress is missing, instead of starting over in the middle', { timeout: 60_000 }, async () => {
    const folder = mkdtempSync(join(tmpdir(), 'split-'));
    folders.push(folder);
    const s3 = new FileBackedS3(folder).asClient();
    await expect(
      buildArchive(
        { exportId: 'split-0000-0007', userId: 'u-1', formats: ['json'], request: TEST_REQUEST, sources: [], resume: { partsDone: 2 } },
        { s3, now: systemClock, exportBucket: { s3, bucket: BUCKET, kmsKeyId: 'test' }, dataMap },
      ),
    ).rejects.toThrow("The archive's progress after part 2 is missing from staging");
  });

  it('refuses a limit too small to hold anything, saying which setting to raise', { timeout: 60_000 }, async () => {
    await expect(bundle('split-0000-0003', 100, files, 1024)).rejects.toThrow(/maxArchiveBytes \(1024\) is too small/);
  });
});
