// BundleArchive's core: staging parts → ZIP entries → one multipart upload, all streamed. Each entry is
// hashed and counted as it flows, so manifest.json (written last) proves what the archive holds. A
// record count that disagrees with what the collector reported fails the export instead of shipping it.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ZipArchive } from 'archiver';
import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { PathAllocator, safeRelativePath } from './archive-paths.ts';
import { csvHeader, csvRow, itemToJson, orderColumns, valueToCsvCell, type WireItem } from './attribute-values.ts';
import { findSource, type DataMap, type Source } from './data-map.ts';
import { ArchiveWriteError } from './errors.ts';
import type { Format } from './identifiers.ts';
import { renderIndexPage } from './index-page.ts';
import { buildManifest, type ManifestFile, type ManifestSource } from './manifest.ts';
import { archiveFileName, archiveKey, partKey, stagedObjectKey } from './staging.ts';
import { deleteStaging, uploadStream, type ExportBucket } from './export-bucket.ts';

export interface CollectedSource {
  sourceId: string;
  /** Parts written: part-00000 … part-(nextPart-1). */
  nextPart: number;
  records: number;
}

export interface BundleRequest {
  exportId: string;
  userId: string;
  formats: Format[];
  sources: CollectedSource[];
}

export interface BundleResult {
  exportId: string;
  userId: string;
  archiveKey: string;
  archiveBytes: number;
  /** Uncompressed bytes of all entries: what was zipped. */
  entryBytes: number;
  fileCount: number;
  records: Record<string, number>;
}

export interface BundleDeps {
  s3: S3Client;
  exportBucket: ExportBucket;
  dataMap: DataMap;
  now?: () => Date;
  /** zlib level; 6 balances size and speed for JSON/CSV text. */
  compressionLevel?: number;
}

/** Text is batched into chunks of about this size before it enters the ZIP stream. */
const CHUNK_CHARS = 256 * 1024;

export async function bundleArchive(request: BundleRequest, deps: BundleDeps): Promise<BundleResult> {
  const generatedAt = (deps.now ?? (() => new Date()))();
  const key = archiveKey(request.exportId);
  const archive = new ZipArchive({ zlib: { level: deps.compressionLevel ?? 6, chunkSize: 256 * 1024 } });
  // archiver's stream comes from the readable-stream package; the SDK accepts only Node's own streams.
  const output = new PassThrough({ highWaterMark: 1024 * 1024 });
  archive.pipe(output);
  const uploaded = uploadStream(deps.exportBucket, key, output, {
    contentType: 'application/zip',
    contentDisposition: `attachment; filename="${archiveFileName(request.exportId)}"`,
  });
  // If the upload dies, stop feeding entries at once rather than waiting on a stream nobody reads.
  const uploadFailed = uploaded.then(() => new Promise<never>(() => undefined));
  uploadFailed.catch(() => undefined);
  const writer = new EntryWriter(archive, generatedAt, uploadFailed);

  try {
    const files: ManifestFile[] = [];
    const sources: ManifestSource[] = [];
    const paths = new PathAllocator();
    for (const collected of request.sources) {
      const source = findSource(deps.dataMap, collected.sourceId);
      const parts = Array.from({ length: collected.nextPart }, (_, i) => partKey(request.exportId, source.id, i));
      const written =
        source.type === 'dynamodb'
          ? await writeRecordEntries(source, parts, request.formats, deps, writer, paths)
          : await writeObjectEntries(source, parts, request.exportId, deps, writer, paths);
      if (written.records !== collected.records) {
        throw new ArchiveWriteError(
          `Source "${source.id}" staged ${written.records} records but the collector reported ${collected.records}; refusing to ship an archive that may be incomplete.`,
        );
      }
      files.push(...written.files);
      sources.push({ sourceId: source.id, category: source.category, type: source.type, description: source.description, status: 'complete', records: written.records });
    }
    const manifest = buildManifest({ exportId: request.exportId, userId: request.userId, generatedAt: generatedAt.toISOString(), formats: request.formats, sources, files });
    await writer.add('index.html', Readable.from([Buffer.from(renderIndexPage(manifest, deps.dataMap))]));
    await writer.add('manifest.json', Readable.from([Buffer.from(JSON.stringify(manifest, null, 2) + '\n')]));
    await Promise.race([archive.finalize(), uploadFailed]);
    await uploaded;
    await deleteStaging(deps.s3, deps.exportBucket.bucket, request.exportId);
    return {
      exportId: request.exportId,
      userId: request.userId,
      archiveKey: key,
      archiveBytes: archive.pointer(),
      entryBytes: manifest.totals.bytes,
      fileCount: files.length + 2,
      records: Object.fromEntries(sources.map((s) => [s.sourceId, s.records])),
    };
  } catch (error) {
    // Destroying (not ending) the stream makes the upload fail and abort its multipart upload, so a
    // truncated ZIP can never be completed under the archive's key.
    archive.abort();
    output.destroy(error instanceof Error ? error : new Error(String(error)));
    await uploaded.catch(() => undefined);
    throw error instanceof ArchiveWriteError ? error : new ArchiveWriteError(`Building the archive failed: ${(error as Error).message}`, { cause: error });
  }
}

/** Adds entries one at a time, hashing and counting each as archiver consumes it. */
class EntryWriter {
  private pending: { name: string; resolve: () => void; reject: (error: unknown) => void } | undefined;

  constructor(
    private readonly archive: ZipArchive,
    private readonly date: Date,
    private readonly uploadFailed: Promise<never>,
  ) {
    // One listener each for the whole archive: entries can number in the tens of thousands.
    archive.on('entry', (data) => {
      if (this.pending?.name === data.name) this.pending.resolve();
    });
    archive.on('error', (error) => this.pending?.reject(error));
  }

  async add(name: string, content: Readable): Promise<{ bytes: number; sha256: string }> {
    const measured = new MeasuringStream();
    const entered = new Promise<void>((resolve, reject) => {
      this.pending = { name, resolve, reject };
      content.once('error', reject);
    });
    content.pipe(measured);
    this.archive.append(measured, { name, date: this.date });
    try {
      await Promise.race([entered, this.uploadFailed]);
    } finally {
      this.pending = undefined;
    }
    return { bytes: measured.bytes, sha256: measured.hash.digest('hex') };
  }
}

/** Passes bytes through unchanged while counting them and computing their sha256. */
class MeasuringStream extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

async function writeRecordEntries(source: Source, parts: string[], formats: Format[], deps: BundleDeps, writer: EntryWriter, paths: PathAllocator) {
  const files: ManifestFile[] = [];
  const columns = new Set<string>();
  let records: number | undefined;
  const base = `${source.category}/${source.id}`;
  const keyAttributes = source.type === 'dynamodb' ? [source.partitionKey, ...(source.sortKey ? [source.sortKey] : [])] : [];

  // Pass 1: the JSON file, learning the CSV's columns on the way. Without JSON, only the columns.
  if (formats.includes('json')) {
    const counter = { records: 0 };
    const path = paths.allocate(`${base}.json`);
    const { bytes, sha256 } = await writer.add(path, Readable.from(jsonChunks(deps, parts, columns, counter)));
    records = counter.records;
    files.push({ path, sourceId: source.id, category: source.category, format: 'json', records, bytes, sha256 });
  } else {
    records = 0;
    for await (const batch of readItems(deps, parts)) {
      for (const item of batch) for (const name of Object.keys(item)) columns.add(name);
      records += batch.length;
    }
  }
  if (formats.includes('csv')) {
    const counter = { records: 0 };
    const path = paths.allocate(`${base}.csv`);
    const ordered = orderColumns(columns, keyAttributes.filter((k) => columns.has(k)));
    const { bytes, sha256 } = await writer.add(path, Readable.from(csvChunks(deps, parts, ordered, counter)));
    if (counter.records !== records) throw new ArchiveWriteError(`Source "${source.id}" changed while it was being archived.`);
    files.push({ path, sourceId: source.id, category: source.category, format: 'csv', records: counter.records, bytes, sha256 });
  }
  return { files, records };
}

async function* jsonChunks(deps: BundleDeps, parts: string[], columns: Set<string>, counter: { records: number }) {
  let text = '[';
  for await (const batch of readItems(deps, parts)) {
    for (const item of batch) {
      for (const name in item) columns.add(name);
      text += `${counter.records === 0 ? '\n  ' : ',\n  '}${itemToJson(item)}`;
      counter.records += 1;
    }
    if (text.length >= CHUNK_CHARS) {
      yield Buffer.from(text, 'utf8');
      text = '';
    }
  }
  yield Buffer.from(`${text}\n]\n`, 'utf8');
}

async function* csvChunks(deps: BundleDeps, parts: string[], columns: string[], counter: { records: number }) {
  let text = csvHeader(columns);
  for await (const batch of readItems(deps, parts)) {
    for (const item of batch) text += csvRow(columns.map((c) => valueToCsvCell(item[c])));
    counter.records += batch.length;
    if (text.length >= CHUNK_CHARS) {
      yield Buffer.from(text, 'utf8');
      text = '';
    }
  }
  if (text) yield Buffer.from(text, 'utf8');
}

interface StagedObject {
  sequence: number;
  key: string;
  size: number;
}

async function writeObjectEntries(source: Source, parts: string[], exportId: string, deps: BundleDeps, writer: EntryWriter, paths: PathAllocator) {
  const files: ManifestFile[] = [];
  let records = 0;
  for (const part of parts) {
    for await (const lines of readLines(deps.s3, deps.exportBucket.bucket, part)) {
      for (const line of lines) {
        const object = JSON.parse(line) as StagedObject;
        const relative = safeRelativePath(object.key) || `object-${object.sequence}`;
        const path = paths.allocate(`${source.category}/${source.id}/${relative}`);
        const body = await getObject(deps.s3, deps.exportBucket.bucket, stagedObjectKey(exportId, source.id, object.sequence));
        const { bytes, sha256 } = await writer.add(path, body);
        if (bytes !== object.size) {
          throw new ArchiveWriteError(`File "${object.key}" of source "${source.id}" should have ${object.size} bytes but ${bytes} were read.`);
        }
        files.push({ path, sourceId: source.id, category: source.category, format: 'file', bytes, sha256, originalKey: object.key });
        records += 1;
      }
    }
  }
  return { files, records };
}

/** The items of the parts, a chunk's worth at a time: one await per chunk, not per item. */
async function* readItems(deps: BundleDeps, parts: string[]): AsyncGenerator<WireItem[]> {
  for (const part of parts) {
    for await (const lines of readLines(deps.s3, deps.exportBucket.bucket, part)) yield lines.map((line) => JSON.parse(line) as WireItem);
  }
}

async function getObject(s3: S3Client, bucket: string, key: string): Promise<Readable> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!(object.Body instanceof Readable)) throw new ArchiveWriteError(`Staged object ${key} has no readable body.`);
  return object.Body;
}

/** Non-empty lines of an NDJSON object, decoded across chunk boundaries, yielded a chunk at a time. */
async function* readLines(s3: S3Client, bucket: string, key: string): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of await getObject(s3, bucket, key)) {
    pending += decoder.write(chunk as Buffer);
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    const full = lines.filter((line) => line !== '');
    if (full.length > 0) yield full;
  }
  pending += decoder.end();
  if (pending) yield [pending];
}
