// Archives split at maxArchiveBytes, through the production bundler: every part is a complete ZIP under
// the limit that an independent reader (yauzl) verifies, records files are cut only between records
// (each piece valid JSON or CSV on its own), a large file's pieces join back to its exact bytes, and the
// manifest in the last part says which part holds what.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { itemToJson } from '../../lambdas/core/attribute-values.ts';
import { bundleArchive } from '../../lambdas/core/bundle.ts';
import { parseDataMap } from '../../lambdas/core/data-map.ts';
import type { Manifest } from '../../lambdas/core/manifest.ts';
import { archiveKey, columnsKey, partKey, stagedObjectKey } from '../../lambdas/core/staging.ts';
import { readArchive } from '../../local/archive-reader.ts';
import { FileBackedS3 } from '../../local/file-backed-s3.ts';

const BUCKET = 'exports';
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

const dataMap = parseDataMap({
  sources: [
    { id: 'usage-events', category: 'usage', type: 'dynamodb', table: 'UsageEvents', partitionKey: 'userId', keyTemplate: '{userId}' },
    { id: 'attachments', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
  ],
});

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
  for (const [part, range] of [[0, [0, half]], [1, [half, records]]] as const) {
    const columns = new Set<string>();
    const lines = Array.from({ length: range[1] - range[0] }, (_, i) => itemToJson(event(range[0] + i), columns) + '\n');
    writeFileSync(store.path(BUCKET, partKey(exportId, 'usage-events', part)), lines.join(''));
    writeFileSync(store.path(BUCKET, columnsKey(exportId, 'usage-events', part)), JSON.stringify([...columns]));
  }
  files.forEach((file, sequence) => writeFileSync(store.path(BUCKET, stagedObjectKey(exportId, 'attachments', sequence)), file.bytes));
  writeFileSync(
    store.path(BUCKET, partKey(exportId, 'attachments', 0)),
    files.map((file, sequence) => JSON.stringify({ sequence, key: file.key, size: file.bytes.length }) + '\n').join(''),
  );
}

async function bundle(exportId: string, records: number, files: { key: string; bytes: Buffer }[], maxArchiveBytes?: number, prepare?: (store: FileBackedS3) => void, formats: ('json' | 'csv')[] = ['json', 'csv']) {
  const folder = mkdtempSync(join(tmpdir(), 'split-'));
  folders.push(folder);
  const store = new FileBackedS3(folder);
  stage(store, exportId, records, files);
  prepare?.(store);
  const s3 = store.asClient();
  const result = await bundleArchive(
    {
      exportId,
      userId: 'u-1',
      formats,
      sources: [
        { sourceId: 'usage-events', nextPart: 2, records },
        { sourceId: 'attachments', nextPart: 1, records: files.length },
      ],
    },
    { s3, exportBucket: { s3, bucket: BUCKET, kmsKeyId: 'test' }, dataMap, maxArchiveBytes },
  );
  const parts = Array.from({ length: result.archiveParts }, (_, i) => store.path(BUCKET, archiveKey(exportId, i + 1)));
  return { result, parts };
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

    const contents: Map<string, Buffer>[] = [];
    for (const part of parts) {
      expect(statSync(part).size).toBeLessThanOrEqual(limit);
      contents.push(await readArchive(part)); // yauzl checks every entry's CRC-32 and size as it reads
    }
    expect(result.archiveBytes).toBe(parts.reduce((sum, part) => sum + statSync(part).size, 0));

    // The manifest (in the last part) says where each file is, and the bytes there match its sha256.
    const last = contents.at(-1);
    const manifest = JSON.parse(last?.get('manifest.json')?.toString() ?? '{}') as Manifest;
    expect(last?.has('index.html')).toBe(true);
    for (const file of manifest.files) {
      const bytes = contents[file.archivePart - 1]?.get(file.path);
      expect(bytes, `${file.path} in part ${file.archivePart}`).toBeDefined();
      expect(createHash('sha256').update(bytes ?? Buffer.alloc(0)).digest('hex')).toBe(file.sha256);
      expect(bytes?.length).toBe(file.bytes);
    }
    const paths = manifest.files.map((f) => f.path);
    expect(new Set(paths).size).toBe(paths.length);

    // Records files: several pieces, each valid on its own, together every record once and in order.
    const jsonPieces = manifest.files.filter((f) => f.sourceId === 'usage-events' && f.format === 'json');
    expect(jsonPieces.length).toBeGreaterThan(1);
    expect(jsonPieces[0]?.path).toBe('usage/usage-events.json');
    expect(jsonPieces[1]?.path).toBe('usage/usage-events-part-2.json');
    expect(jsonPieces.slice(1).every((f) => f.continues === 'usage/usage-events.json')).toBe(true);
    const fromJson = jsonPieces.flatMap((f) => JSON.parse(contents[f.archivePart - 1]?.get(f.path)?.toString() ?? '') as { eventId: string }[]);
    expect(fromJson.map((r) => r.eventId)).toEqual(Array.from({ length: records }, (_, n) => `evt-${String(n).padStart(6, '0')}`));
    expect(jsonPieces.reduce((sum, f) => sum + (f.records ?? 0), 0)).toBe(records);
    // Exact digits survive the cut too.
    expect(jsonPieces.map((f) => contents[f.archivePart - 1]?.get(f.path)?.toString()).join('')).toContain('"amount":12345678901234567890.123456789');

    const csvPieces = manifest.files.filter((f) => f.sourceId === 'usage-events' && f.format === 'csv');
    expect(csvPieces.length).toBeGreaterThan(1);
    const tables = csvPieces.map((f): string[][] => parse(contents[f.archivePart - 1]?.get(f.path)?.toString() ?? ''));
    for (const table of tables) expect(table[0]).toEqual(['userId', 'amount', 'detail', 'eventId', 'note']);
    const rows = tables.flatMap((table) => table.slice(1));
    expect(rows).toHaveLength(records);
    expect(rows[5]?.[4]).toBe(`'=SUM(A1), "quoted"`);

    // A file larger than a part: pieces that join back to its exact bytes.
    const scan = manifest.files.filter((f) => f.originalKey === 'big-scan.pdf');
    expect(scan.length).toBeGreaterThan(2);
    expect(scan.slice(1).map((f) => f.path)).toEqual(scan.slice(1).map((_, i) => `communication/attachments/big-scan.pdf.part-${i + 2}`));
    const joined = Buffer.concat(scan.map((f) => contents[f.archivePart - 1]?.get(f.path) ?? Buffer.alloc(0)));
    expect(joined.equals(files[0]?.bytes ?? Buffer.alloc(1))).toBe(true);
    expect(manifest.files.find((f) => f.originalKey === 'empty.bin')?.bytes).toBe(0);
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

  it('refuses a limit too small to hold anything, saying which setting to raise', { timeout: 60_000 }, async () => {
    await expect(bundle('split-0000-0003', 100, files, 1024)).rejects.toThrow(/maxArchiveBytes \(1024\) is too small/);
  });
});
