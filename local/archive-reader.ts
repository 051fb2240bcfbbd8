// Reads a downloaded export back with an independent ZIP reader (yauzl) and checks it against its own
// manifest (every listed file present, with the listed size and sha256) and its datapackage.json
// (datapackage-check.ts). Used by the demo and the tests.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { ARCHIVE_DOCUMENTS, type Manifest } from '../lambdas/core/archive/manifest.ts';
import { aboutProblems } from './about-check.ts';
import { csvProblems, profileProblems, resourceProblems, type Datapackage, type Resource } from './datapackage-check.ts';

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

const DESCRIPTORS = new Set<string>([ARCHIVE_DOCUMENTS.manifest, ARCHIVE_DOCUMENTS.datapackage, ARCHIVE_DOCUMENTS.about]);

/**
 * Streams the archive, hashing every entry, and compares with manifest.json and datapackage.json; the
 * CSV files are read a second time, one at a time, against their Table Schemas.
 */
export async function verifyArchive(path: string): Promise<ArchiveCheck> {
  const seen = new Map<string, { bytes: number; sha256: string }>();
  const descriptors = new Map<string, string>();
  await forEachEntry(path, async (entry, read) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of await read()) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (DESCRIPTORS.has(entry.fileName)) chunks.push(chunk as Buffer);
    }
    if (DESCRIPTORS.has(entry.fileName)) descriptors.set(entry.fileName, Buffer.concat(chunks).toString('utf8'));
    seen.set(entry.fileName, { bytes, sha256: hash.digest('hex') });
  });
  const manifestText = descriptors.get('manifest.json');
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
  problems.push(...aboutProblems(descriptors.get(ARCHIVE_DOCUMENTS.about), manifest));
  const datapackageText = descriptors.get('datapackage.json');
  if (datapackageText === undefined) problems.push('the archive has no datapackage.json');
  else problems.push(...(await datapackageProblems(path, JSON.parse(datapackageText) as Datapackage, seen)));
  return { manifest, entries: seen.size, problems };
}

async function datapackageProblems(path: string, descriptor: Datapackage, seen: Map<string, { bytes: number; sha256: string }>): Promise<string[]> {
  const problems = [...profileProblems(descriptor), ...resourceProblems(descriptor, seen)];
  const tables = new Map<string, Resource>();
  for (const r of descriptor.resources ?? []) if (r.profile === 'tabular-data-resource' && typeof r.path === 'string') tables.set(r.path, r);
  if (tables.size === 0) return problems;
  await forEachEntry(path, async (entry, read) => {
    const resource = tables.get(entry.fileName);
    if (!resource) return;
    const chunks: Buffer[] = [];
    for await (const chunk of await read()) chunks.push(chunk as Buffer);
    problems.push(...csvProblems(resource, Buffer.concat(chunks)));
  });
  return problems;
}
