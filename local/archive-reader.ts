// Reads a downloaded export back with an independent ZIP reader (yauzl) and checks it against its own
// manifest: every listed file present, with the listed size and sha256. Used by the demo and the tests.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { ARCHIVE_DOCUMENTS, type Manifest } from '../lambdas/core/archive/manifest.ts';

function open(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: true, strictFileNames: true, validateEntrySizes: true }, (error, zip) => (error ? reject(error) : resolve(zip))),
  );
}

/** Visits every entry in order; `read` streams the entry's bytes. */
export async function forEachEntry(path: string, visit: (entry: yauzl.Entry, read: () => Promise<Readable>) => Promise<void>): Promise<void> {
  const zip = await open(path);
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      const read = () => new Promise<Readable>((ok, fail) => zip.openReadStream(entry, (error, stream) => (error ? fail(error) : ok(stream))));
      visit(entry, read).then(() => zip.readEntry(), reject);
    });
    zip.readEntry();
  });
}

/** All entries in memory: for tests and small archives. */
export async function readArchive(path: string): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  await forEachEntry(path, async (entry, read) => {
    const chunks: Buffer[] = [];
    for await (const chunk of await read()) chunks.push(chunk as Buffer);
    entries.set(entry.fileName, Buffer.concat(chunks));
  });
  return entries;
}

export interface ArchiveCheck {
  manifest: Manifest;
  entries: number;
  problems: string[];
}

/** Streams the archive once, hashing every entry, and compares with manifest.json. */
export async function verifyArchive(path: string): Promise<ArchiveCheck> {
  const seen = new Map<string, { bytes: number; sha256: string }>();
  let manifestText: string | undefined;
  await forEachEntry(path, async (entry, read) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of await read()) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (entry.fileName === 'manifest.json') chunks.push(chunk as Buffer);
    }
    if (entry.fileName === 'manifest.json') manifestText = Buffer.concat(chunks).toString('utf8');
    seen.set(entry.fileName, { bytes, sha256: hash.digest('hex') });
  });
  if (manifestText === undefined) throw new Error(`${path} has no manifest.json.`);
  const manifest = JSON.parse(manifestText) as Manifest;
  const problems: string[] = [];
  for (const file of manifest.files) {
    const actual = seen.get(file.path);
    if (!actual) problems.push(`${file.path} is listed in the manifest but missing from the archive`);
    else if (actual.bytes !== file.bytes || actual.sha256 !== file.sha256) problems.push(`${file.path} does not match its manifest size or sha256`);
  }
  const listed = new Set([...manifest.files.map((f) => f.path), ...Object.values(ARCHIVE_DOCUMENTS)]);
  for (const name of seen.keys()) if (!listed.has(name)) problems.push(`${name} is in the archive but not in the manifest`);
  return { manifest, entries: seen.size, problems };
}
