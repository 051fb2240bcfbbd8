// The archive as the readers people use open it: Info-ZIP unzip, 7-Zip, bsdtar (libarchive, which GNOME
// and macOS use) from a file and from a pipe, and Python's zipfile. Each must test the archive clean,
// and every one must extract the same tree, byte for byte. Beside that, what they would take silently:
// a text file cut inside a character, the two headers of an entry disagreeing on "version needed",
// times without their zone, manifest.json split across parts. (scripts/ensure-test-packages.sh installs
// the readers from Debian.)
import { systemClock } from '../../lambdas/core/platform/clock.ts';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildUntilDone } from '../../lambdas/core/archive/build-archive.ts';
import { parseDataMap } from '../../lambdas/core/data-map/data-map.ts';
import type { Manifest } from '../../lambdas/core/archive/manifest.ts';
import { partKey, stagedObjectKey } from '../../lambdas/core/storage/object-keys.ts';
import { forEachEntry, readArchive } from '../../local/archive-reader.ts';
import { FileBackedS3 } from '../../local/file-backed-s3.ts';
import { BUCKET, buildStagedArchive, Folders, GENERATED_AT, stagedDataMap } from '../support/staged-archive.ts';
import { answerable, TEST_REQUEST } from '../support/answer-facts.ts';
import { ARCHIVE_DOCUMENTS } from '../../lambdas/core/archive/manifest.ts';

const run = promisify(execFile);
const sh = (script: string) => run('bash', ['-o', 'pipefail', '-c', script], { maxBuffer: 64 * 1024 * 1024 });
/** index.html, about-this-export.json, manifest.json, datapackage.json: in every archive, beside the data files. */
const DOCUMENTS = Object.keys(ARCHIVE_DOCUMENTS).length;
const folders = new Folders();
const folder = (name: string) => folders.make(name);
afterAll(() => folders.removeAll());
const dataMap = stagedDataMap;

/** 200 files named with emoji (four UTF-8 bytes, two UTF-16 units each), so manifest.json has emoji at every block edge. */
const files = [
  ...Array.from({ length: 200 }, (_, i) => ({ key: `🎉${'😀'.repeat(i % 7)}-${i}.txt`, bytes: Buffer.from(`file ${i} 日本 🎉\n`) })),
  // Names one file system or another merges: composed and decomposed, final and medial sigma.
  ...['caf\u00e9.txt', 'cafe\u0301.txt', 'ς.txt', 'σ.txt', 'rtl\u202etxt.exe'].map((key) => ({ key, bytes: Buffer.from(key) })),
];

// Small blocks: the manifest (tens of KiB) is cut into many.
const build = (exportId: string, maxArchiveBytes?: number, randomFileBytes = 0) =>
  buildStagedArchive(exportId, folders, { files, maxArchiveBytes, randomFileBytes, blockBytes: 4096 });

/** Every file under `root` with its sha256. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, name.name);
      if (name.isDirectory()) walk(path);
      else out[relative(root, path).normalize('NFC')] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(root);
  return out;
}

describe('the archive in every reader', () => {
  it('tests clean and extracts the same tree in unzip, 7-Zip, bsdtar (file and pipe) and Python', { timeout: 120_000 }, async () => {
    const { parts } = await build('read-0000-0001');
    expect(parts).toHaveLength(1);
    const zip = parts[0] as string;
    await sh(`unzip -tq '${zip}'`);
    await sh(`7z t -bd '${zip}' >/dev/null`);
    await sh(`bsdtar -tf '${zip}' >/dev/null`);
    await run('/usr/bin/python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); bad = z.testzip(); sys.exit(f"corrupt: {bad}" if bad else 0)', zip]);

    const out = folder('readers-out-');
    const dirs = Object.fromEntries(['unzip', '7z', 'bsdtar', 'bsdtar-pipe', 'python'].map((name) => [name, join(out, name)]));
    for (const dir of Object.values(dirs)) mkdirSync(dir);
    await sh(`unzip -q '${zip}' -d '${dirs.unzip}'`);
    await sh(`7z x -bd -y -o'${dirs['7z']}' '${zip}' >/dev/null`);
    await sh(`bsdtar -xf '${zip}' -C '${dirs.bsdtar}'`);
    await sh(`cat '${zip}' | bsdtar -xf - -C '${dirs['bsdtar-pipe']}'`);
    await run('/usr/bin/python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', zip, dirs.python as string]);

    const trees = Object.fromEntries(Object.entries(dirs).map(([name, dir]) => [name, tree(dir)]));
    const expected = trees.unzip ?? {};
    expect(Object.keys(expected).length).toBe(files.length + 2 + DOCUMENTS);
    for (const [name, got] of Object.entries(trees)) expect(got, name).toEqual(expected);

    // Times are UTC (the extended-timestamp field), whatever zone the reader is in.
    for (const reader of ['unzip', 'bsdtar', 'bsdtar-pipe']) {
      const mtime = statSync(join(dirs[reader] as string, 'manifest.json')).mtime;
      expect(mtime.getTime(), reader).toBe(GENERATED_AT.getTime());
    }
    mkdirSync(join(out, 'la'));
    await sh(`TZ=America/Los_Angeles bsdtar -xf '${zip}' -C '${join(out, 'la')}' manifest.json`);
    expect(statSync(join(out, 'la', 'manifest.json')).mtime.getTime()).toBe(GENERATED_AT.getTime());
  });

  it('writes manifest.json, index.html and datapackage.json encoded before they are cut: no character split at a block edge', { timeout: 60_000 }, async () => {
    const { parts } = await build('read-0000-0002');
    const entries = await readArchive(parts[0] as string);
    for (const name of ['manifest.json', 'index.html', 'datapackage.json']) expect(entries.get(name)?.toString('utf8'), name).not.toContain('\uFFFD');
    const manifest = JSON.parse(entries.get('manifest.json')?.toString('utf8') ?? '') as Manifest;
    for (const file of files) expect(manifest.files.some((f) => f.originalKey === file.key)).toBe(true);
  });

  it('says the same "version needed" in both headers of every entry', { timeout: 60_000 }, async () => {
    const { parts } = await build('read-0000-0003');
    const bytes = readFileSync(parts[0] as string);
    let entries = 0;
    await forEachEntry(parts[0] as string, (entry) => {
      entries += 1;
      const local = bytes.readUInt16LE(entry.relativeOffsetOfLocalHeader + 4);
      expect(local, entry.fileName).toBe(entry.versionNeededToExtract);
      return Promise.resolve();
    });
    expect(entries).toBe(files.length + 2 + DOCUMENTS);
  });

  it('keeps manifest.json, index.html and datapackage.json whole, in the last part, with the count of files right', { timeout: 60_000 }, async () => {
    // 200 files of 2 KiB that do not compress: parts fill up; the manifest and datapackage.json need about 190 KB of room.
    const { result, parts } = await build('read-0000-0004', 256 * 1024, 2048);
    expect(parts.length).toBeGreaterThan(2);
    const contents = await Promise.all(parts.map((part) => readArchive(part)));
    const names = contents.flatMap((entries) => [...entries.keys()]);
    expect(names.filter((name) => name.startsWith('manifest.json'))).toEqual(['manifest.json']);
    expect(names.filter((name) => name.startsWith('index.html'))).toEqual(['index.html']);
    expect(contents.at(-1)?.has('manifest.json')).toBe(true);
    expect(contents.at(-1)?.has('index.html')).toBe(true);
    expect(names.filter((name) => name.startsWith('datapackage.json'))).toEqual(['datapackage.json']);
    expect(contents.at(-1)?.has('datapackage.json')).toBe(true);
    expect(result.fileCount).toBe(names.length);
    const manifest = JSON.parse(contents.at(-1)?.get('manifest.json')?.toString('utf8') ?? '') as Manifest;
    expect(manifest.files.length + DOCUMENTS).toBe(names.length);
    // index.html knows it is in the last part, so how many there are, even when it opened that part itself.
    expect(contents.at(-1)?.get('index.html')?.toString('utf8')).toContain(`Your export came as <strong>${parts.length} ZIP files</strong>`);
    expect(Math.max(...manifest.files.map((f) => f.archivePart))).toBe(parts.length - 1);
  });

  it('refuses, with a sentence, a part limit too small for the files written whole', { timeout: 60_000 }, async () => {
    await expect(build('read-0000-0005', 8 * 1024)).rejects.toThrow(
      /maxArchiveBytes \(8192\) is too small to hold index.html, about-this-export.json, manifest.json and datapackage.json whole/,
    );
  });
});

describe('CSV for spreadsheets', () => {
  const emptySource = async (csv?: { byteOrderMark: boolean }) => {
    const store = new FileBackedS3(folder('readers-csv-'));
    mkdirSync(join(store.root, BUCKET), { recursive: true });
    const map = parseDataMap(
      answerable({
        sources: [{ id: 'orders', category: 'payment', type: 'dynamodb', table: 'Orders', partitionKey: 'userId', sortKey: 'orderId', keyTemplate: '{userId}' }],
        ...(csv ? { csv } : {}),
      }),
    );
    const s3 = store.asClient();
    const result = await buildUntilDone(
      { exportId: 'read-0000-0007', userId: 'u-1', formats: ['csv'], request: TEST_REQUEST, sources: [{ sourceId: 'orders', nextPart: 0, records: 0 }] },
      { s3, now: systemClock, exportBucket: { s3, bucket: BUCKET, kmsKeyId: 'test' }, dataMap: map },
    );
    return (await readArchive(store.path(BUCKET, result.archiveKey))).get('payment/orders.csv')?.toString('utf8');
  };

  it('gives an empty source its header, after the byte-order mark that makes Excel read UTF-8', { timeout: 60_000 }, async () => {
    expect(await emptySource()).toBe('\ufeffuserId,orderId\r\n');
  });

  it('leaves the byte-order mark out when the data map says so, for machine consumers', { timeout: 60_000 }, async () => {
    expect(await emptySource({ byteOrderMark: false })).toBe('userId,orderId\r\n');
  });
});

describe('an entry past 4 GiB read from a pipe', () => {
  it('streams through bsdtar: the local header announces ZIP64, as the 8-byte data descriptor needs', { timeout: 600_000 }, async () => {
    const store = new FileBackedS3(folder('readers-big-'));
    const exportId = 'read-0000-0006';
    const size = 4 * 1024 ** 3 + 150 * 1024;
    mkdirSync(join(store.root, BUCKET), { recursive: true });
    store.createSparse(BUCKET, stagedObjectKey(exportId, 'attachments', 0), size);
    writeFileSync(store.path(BUCKET, partKey(exportId, 'attachments', 0)), JSON.stringify({ sequence: 0, key: 'big.bin', size }) + '\n');
    // A small file after it: a reader that misreads the descriptor loses its place before this one.
    store.createSparse(BUCKET, stagedObjectKey(exportId, 'attachments', 1), 0);
    writeFileSync(store.path(BUCKET, stagedObjectKey(exportId, 'attachments', 1)), randomBytes(100));
    writeFileSync(
      store.path(BUCKET, partKey(exportId, 'attachments', 0)),
      [JSON.stringify({ sequence: 0, key: 'big.bin', size }), JSON.stringify({ sequence: 1, key: 'after.bin', size: 100 })].join('\n') + '\n',
    );
    const s3 = store.asClient();
    const result = await buildUntilDone(
      { exportId, userId: 'u-1', formats: ['json'], request: TEST_REQUEST, sources: [{ sourceId: 'attachments', nextPart: 1, records: 2 }] },
      { s3, now: systemClock, exportBucket: { s3, bucket: BUCKET, kmsKeyId: 'test' }, dataMap, compressionLevel: 1 },
    );
    const zip = store.path(BUCKET, result.archiveKey);
    const { stdout } = await sh(`cat '${zip}' | bsdtar -tvf -`);
    expect(stdout).toContain('communication/attachments/big.bin');
    expect(stdout).toContain('communication/attachments/after.bin');
    expect(stdout).toContain('manifest.json');
  });
});
