// BundleArchive's core: staging parts → ZIP entries → multipart uploads, all streamed. Each file is
// hashed and counted as it flows, so manifest.json (written last) proves what the archive holds. A
// record count that disagrees with what the collector reported fails the export instead of shipping it.
// With maxArchiveBytes, the archive is split into numbered parts, each a complete ZIP under the limit:
// a file that does not fit goes on in the next part as a new piece (records files stay valid JSON/CSV).
//
// One call never runs past its deadline (Lambda stops a function at 15 minutes). When the deadline comes
// first, the part being written is finished as a complete ZIP, where the call stands is saved in
// staging, and the call answers `done: false` with a resume point; the state machine calls again and
// the archive goes on in its next part, exactly as if a size limit had been reached there. An archive
// of any size is then a run of calls, each of which writes at most what one call can.
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { PathAllocator, safeRelativePath } from './archive-paths.ts';
import { csvHeader, orderColumns } from '../values/attribute-values.ts';
import { CsvRows, type OutputBuffers } from './csv/csv-rows.ts';
import { findSource, type DataMap, type Source } from '../data-map/data-map.ts';
import { ArchiveWriteError } from '../platform/errors.ts';
import type { Format } from '../data-map/identifiers.ts';
import { renderIndexPage } from './index-page.ts';
import { buildManifest, type ManifestFile, type ManifestSource } from './manifest.ts';
import { archiveFileName, archiveKey, archiveProgressKey, columnsKey, partKey, stagedObjectKey } from '../storage/object-keys.ts';
import { deleteObjects, deleteStaging, putObject, readJson, uploadStream, type ExportBucket } from '../storage/export-bucket.ts';
import { ZipWriter } from './zip/zip-writer.ts';

export interface CollectedSource {
  sourceId: string;
  /** Parts written: part-00000 … part-(nextPart-1). */
  nextPart: number;
  records: number;
}

/** Where a call that ran out of time left the archive: its first `partsDone` parts are finished. */
export interface ArchiveResume {
  partsDone: number;
}

export interface BundleRequest {
  exportId: string;
  userId: string;
  formats: Format[];
  sources: CollectedSource[];
  /** Null (or absent) on the first call; the previous call's `resume` after that. */
  resume?: ArchiveResume | null;
}

export interface BuiltArchive {
  exportId: string;
  userId: string;
  done: true;
  resume: null;
  /** Key of the archive, or of its first part. */
  archiveKey: string;
  /** Bytes of the archive, all parts together. */
  archiveBytes: number;
  /** Parts the archive was split into (1 when it was not). */
  archiveParts: number;
  /** Uncompressed bytes of all entries: what was zipped. */
  entryBytes: number;
  fileCount: number;
  records: Record<string, number>;
}

export interface ArchiveUnderWay {
  exportId: string;
  userId: string;
  done: false;
  resume: ArchiveResume;
}

export type BundleResult = BuiltArchive | ArchiveUnderWay;

export interface BundleDeps {
  s3: S3Client;
  exportBucket: ExportBucket;
  dataMap: DataMap;
  now?: () => Date;
  /** zlib level; 6 balances size and speed for JSON/CSV text. */
  compressionLevel?: number;
  /** Largest size of one archive part; unset, the archive is one ZIP of any size. */
  maxArchiveBytes?: number;
  /** Uncompressed bytes deflated as one block (default 1 MiB); blocks are compressed in parallel. */
  blockBytes?: number;
  /** Epoch milliseconds after which the call finishes its part and hands back a resume point. */
  deadline?: number;
}

export const DEFAULT_BLOCK_BYTES = 1024 * 1024;

/**
 * Where the archive stands in its input: which source, and in it which file (a records file of a format,
 * or the n-th staged object), how far into its staged bytes, and for a file cut part-way its path and
 * how many pieces of it are written.
 */
interface Position {
  source: number;
  format?: Format;
  /** Records files: the staging part, and the byte in it where the next block starts. */
  part?: number;
  offset?: number;
  /** Object files: the object's place in the source's listing. */
  object?: number;
  /** A file cut part-way: its path and the pieces written of it. */
  path?: string;
  pieces?: number;
}

/** What a call that ran out of time saves for the next. */
interface SavedArchive {
  generatedAt: string;
  parts: { key: string; bytes: number }[];
  files: ManifestFile[];
  sources: ManifestSource[];
  at: Position;
}

/** Raised inside a file when the deadline has come: the pieces of it written in this call, and where to go on. Never leaves bundleArchive. */
class DeadlineReached extends Error {
  constructor(
    readonly pieces: ManifestFile[],
    readonly at: Position,
  ) {
    super('The call ran out of time; the archive goes on in the next call.');
  }
}

export async function bundleArchive(request: BundleRequest, deps: BundleDeps): Promise<BundleResult> {
  const clock = deps.now ?? (() => new Date());
  const saved = request.resume?.partsDone ? await loadProgress(deps, request.exportId, request.resume.partsDone) : undefined;
  const generatedAt = saved ? new Date(saved.generatedAt) : clock();
  // Small part limits get small blocks, so that parts fill up well before the next block must move on.
  const blockBytes = deps.blockBytes ?? (deps.maxArchiveBytes ? Math.min(DEFAULT_BLOCK_BYTES, Math.max(16 * 1024, Math.floor(deps.maxArchiveBytes / 16))) : DEFAULT_BLOCK_BYTES);
  const archive = new SplitArchive(request.exportId, deps, generatedAt, saved?.parts ?? [], () => deps.deadline !== undefined && clock().getTime() >= deps.deadline);
  const files: ManifestFile[] = saved?.files ?? [];
  const sources: ManifestSource[] = saved?.sources ?? [];
  const paths = new PathAllocator();
  for (const file of files) if (file.continues === undefined) paths.reserve(file.path);
  if (saved?.at.path !== undefined) paths.reserve(saved.at.path);
  const writing: Writing = { exportId: request.exportId, deps, archive, paths, blockBytes, buffers: new BlockBuffers(blockBytes), files };
  try {
    for (let index = saved?.at.source ?? 0; index < request.sources.length; index += 1) {
      const collected = request.sources[index] as CollectedSource;
      const source = findSource(deps.dataMap, collected.sourceId);
      const at = saved && index === saved.at.source ? saved.at : { source: index };
      const parts = Array.from({ length: collected.nextPart }, (_, i) => partKey(request.exportId, source.id, i));
      const records =
        source.type === 'dynamodb' ? await writeRecordFiles(source, parts, collected.records, request.formats, at, writing) : await writeObjectFiles(source, parts, at, writing);
      if (records !== collected.records) {
        throw new ArchiveWriteError(
          `Source "${source.id}" staged ${records} records but the collector reported ${collected.records}; refusing to ship an archive that may be incomplete.`,
        );
      }
      sources.push({ sourceId: source.id, category: source.category, type: source.type, description: source.description, status: 'complete', records });
    }
    const manifest = buildManifest({ exportId: request.exportId, userId: request.userId, generatedAt: generatedAt.toISOString(), formats: request.formats, sources, files });
    // Whole, and together in the last part: a reader opens the last part and finds both complete.
    const manifestText = JSON.stringify(manifest, null, 2) + '\n';
    await archive.addWholeFiles(
      (partCount) => [textFile('index.html', renderIndexPage(manifest, deps.dataMap, { partCount }), blockBytes), textFile('manifest.json', manifestText, blockBytes)],
      blockBytes,
    );
    const parts = await archive.finish();
    await deleteStaging(deps.s3, deps.exportBucket.bucket, request.exportId);
    return {
      exportId: request.exportId,
      userId: request.userId,
      done: true,
      resume: null,
      archiveKey: archiveKey(request.exportId),
      archiveBytes: parts.reduce((sum, part) => sum + part.bytes, 0),
      archiveParts: parts.length,
      entryBytes: manifest.totals.bytes,
      fileCount: files.length + 2,
      records: Object.fromEntries(sources.map((s) => [s.sourceId, s.records])),
    };
  } catch (error) {
    if (error instanceof DeadlineReached) {
      // The part is finished; what is written so far and where to go on are saved under the part count,
      // so a retried call overwrites its own save and the next call finds it.
      files.push(...error.pieces);
      const progress: SavedArchive = { generatedAt: generatedAt.toISOString(), parts: archive.parts, files, sources, at: error.at };
      await putObject(deps.exportBucket, archiveProgressKey(request.exportId, archive.parts.length), JSON.stringify(progress), 'application/json');
      return { exportId: request.exportId, userId: request.userId, done: false, resume: { partsDone: archive.parts.length } };
    }
    const failure = error instanceof ArchiveWriteError ? error : new ArchiveWriteError(`Building the archive failed: ${(error as Error).message}`, { cause: error });
    try {
      await archive.abort(failure);
    } catch (cleanup) {
      throw new ArchiveWriteError(`${failure.message} The archive parts already written could not be removed: ${(cleanup as Error).message}`, { cause: failure });
    }
    throw failure;
  }
}

/**
 * Calls bundleArchive until the archive is built, as the state machine does; `deadlineOf` gives each
 * call its deadline. For the benchmark and the tests, which run the bundler without the state machine.
 */
export async function bundleUntilBuilt(request: BundleRequest, deps: BundleDeps, deadlineOf: () => number | undefined = () => deps.deadline): Promise<BuiltArchive & { calls: number }> {
  let resume = request.resume ?? null;
  for (let calls = 1; ; calls += 1) {
    const result = await bundleArchive({ ...request, resume }, { ...deps, deadline: deadlineOf() });
    if (result.done) return { ...result, calls };
    resume = result.resume;
  }
}

async function loadProgress(deps: BundleDeps, exportId: string, partsDone: number): Promise<SavedArchive> {
  const key = archiveProgressKey(exportId, partsDone);
  try {
    return await readJson<SavedArchive>(deps.s3, deps.exportBucket.bucket, key);
  } catch (error) {
    throw new ArchiveWriteError(`The archive's progress after part ${partsDone} is missing from staging (${(error as Error).message}); start the export again.`, { cause: error });
  }
}

/** A run of whole records (or bytes of a file): the unit that is deflated, and where a file may be cut. */
interface Block {
  data: Buffer;
  records: number;
  /** Gives `data`'s buffer back for reuse, once the ZIP writer is done with it. */
  release?: () => void;
  /** Where the input stands after this block: a call that stops after it goes on from here. */
  end?: Position;
}

/**
 * Buffers for blocks, reused once the ZIP writer has deflated them. A fresh megabyte per block costs a
 * page fault per 4 KiB on first touch and leaves garbage the GC frees late (the bundle's RSS grew with
 * the export); a handful of buffers go round instead.
 */
class BlockBuffers implements OutputBuffers {
  private readonly free: ArrayBuffer[] = [];

  /** `blockBytes`: the usual block; buffers are made a quarter larger, so JSON separators and CSV quoting fit. */
  constructor(private readonly blockBytes: number) {}

  /** A buffer of at least `bytes`. */
  take(bytes: number): Buffer {
    const index = this.free.findIndex((buffer) => buffer.byteLength >= bytes);
    if (index !== -1) {
      const [buffer] = this.free.splice(index, 1) as [ArrayBuffer];
      return Buffer.from(buffer, 0, buffer.byteLength);
    }
    // allocUnsafeSlow: a buffer of its own, never a slice of Node's shared pool.
    return Buffer.allocUnsafeSlow(Math.max(bytes, this.blockBytes + (this.blockBytes >>> 2)));
  }

  /** Takes back a buffer from take() (or a view of one) that nothing reads any more. */
  give(buffer: Buffer): void {
    if (this.free.length < MAX_FREE_BUFFERS) this.free.push(buffer.buffer as ArrayBuffer);
  }
}

/** Blocks in flight are at most the ZIP writer's concurrency plus the one being filled. */
const MAX_FREE_BUFFERS = 8;

/** A file to archive, as blocks, with what makes each piece of it complete on its own. */
interface FileContent {
  path: string;
  manifest: Pick<ManifestFile, 'sourceId' | 'category' | 'format' | 'originalKey'>;
  blocks: AsyncIterable<Block> | Iterable<Block>;
  /** Written at the start and end of every piece (a JSON array's brackets, a CSV header). */
  head?: string;
  tail?: string;
  /** Bytes at the start of a block that the first block of a piece leaves out (JSON's separating comma). */
  separatorBytes?: number;
  /** The path of piece n ≥ 2. */
  piecePath: (piece: number) => string;
  /** Where this file's input starts in this call; absent for files written whole (index.html, manifest.json). */
  start?: Position;
  /** Pieces of the file written by earlier calls. */
  piecesBefore?: number;
  /** At most how many bytes the file holds, whole: a file that may pass 4 GiB is written as ZIP64 from its start. */
  sizeBound?: number;
}

interface OpenPiece {
  path: string;
  part: number;
  hash: ReturnType<typeof createHash>;
  bytes: number;
  records: number;
}

/**
 * The archive as one or more ZIPs, each uploaded as it is written. Parts are finished when the next
 * block would take one over maxArchiveBytes, or when the call's deadline has come; files are cut only
 * between blocks.
 */
class SplitArchive {
  private readonly finished: { key: string; bytes: number }[];
  /** Parts finished before this call: kept if this call fails, since a retry goes on after them. */
  private readonly earlier: number;
  private zip!: ZipWriter;
  private uploaded!: Promise<number>;
  private key!: string;
  /** Blocks written by this call: a call always writes one before it may stop, so every call moves on. */
  private blocksWritten = 0;

  constructor(
    private readonly exportId: string,
    private readonly deps: BundleDeps,
    private readonly date: Date,
    finished: { key: string; bytes: number }[],
    private readonly deadlinePassed: () => boolean,
  ) {
    this.finished = [...finished];
    this.earlier = finished.length;
    this.openPart();
  }

  private get partNumber(): number {
    return this.finished.length + 1;
  }

  /** The parts finished so far. */
  get parts(): { key: string; bytes: number }[] {
    return [...this.finished];
  }

  private openPart(): void {
    this.key = archiveKey(this.exportId, this.partNumber);
    this.zip = new ZipWriter({ level: this.deps.compressionLevel ?? 6 });
    this.uploaded = uploadStream(this.deps.exportBucket, this.key, this.zip.output, {
      contentType: 'application/zip',
      contentDisposition: `attachment; filename="${archiveFileName(this.exportId, this.partNumber)}"`,
    });
    // If the upload dies, stop producing at once rather than waiting on a stream nobody reads.
    this.zip.abortOn(this.uploaded);
  }

  private async finishPart(): Promise<void> {
    const bytes = await this.zip.finish();
    await this.uploaded;
    this.finished.push({ key: this.key, bytes });
  }

  /** Whether `bytes` more uncompressed bytes (and, when given, a new entry) surely fit in this part. */
  private fits(bytes: number, opening?: string): boolean {
    const limit = this.deps.maxArchiveBytes;
    return limit === undefined || this.zip.sizeIfFinished(bytes, opening) <= limit;
  }

  /** Makes room for `bytes` (opening `opening`): waits for blocks in flight, then starts a new part if needed. */
  private async ensureRoom(bytes: number, opening: string | undefined, piece: OpenPiece | undefined, file: FileContent): Promise<OpenPiece[]> {
    if (this.fits(bytes, opening)) return [];
    await this.zip.drain();
    if (this.fits(bytes, opening)) return [];
    if (this.zip.entryCount === 0 && !piece) {
      throw new ArchiveWriteError(`maxArchiveBytes (${this.deps.maxArchiveBytes}) is too small to hold even one block of "${file.path}"; raise it.`);
    }
    const closed = piece ? [await this.closePiece(piece, file)] : [];
    await this.finishPart();
    this.openPart();
    return closed;
  }

  /**
   * Adds files that must not be cut (manifest.json, index.html), all in one part: this one when they fit
   * in what is left of it, else a new one. `render` gives the files for the part they go in, the last.
   */
  async addWholeFiles(render: (partNumber: number) => FileContent[], blockBytes: number): Promise<void> {
    const limit = this.deps.maxArchiveBytes;
    let files = render(this.partNumber);
    const entries = () => files.map((file) => ({ name: file.path, bytes: file.sizeBound ?? 0 }));
    if (limit !== undefined && this.zip.sizeIfFinishedWith(entries(), blockBytes) > limit) {
      await this.zip.drain();
      if (this.zip.sizeIfFinishedWith(entries(), blockBytes) > limit && this.zip.entryCount > 0) {
        await this.finishPart();
        this.openPart();
        // The files now go in a later part: what they say about the part count changes with it.
        files = render(this.partNumber);
      }
      if (this.zip.sizeIfFinishedWith(entries(), blockBytes) > limit) {
        throw new ArchiveWriteError(
          `maxArchiveBytes (${limit}) is too small to hold ${files.map((f) => f.path).join(' and ')} whole (${entries().reduce((sum, e) => sum + e.bytes, 0)} bytes); raise it.`,
        );
      }
    }
    for (const file of files) {
      const written = await this.addFile(file);
      if (written.length !== 1) throw new ArchiveWriteError(`${file.path} was cut in two although it had room; this is a bug.`);
    }
  }

  async addFile(file: FileContent): Promise<ManifestFile[]> {
    const head = Buffer.from(file.head ?? '', 'utf8');
    const tail = Buffer.from(file.tail ?? '', 'utf8');
    const before = file.piecesBefore ?? 0;
    const written: OpenPiece[] = [];
    let piece: OpenPiece | undefined;
    let at = file.start;
    const open = async (block: Buffer) => {
      const number = before + written.length;
      const path = number === 0 ? file.path : file.piecePath(number + 1);
      written.push(...(await this.ensureRoom(head.length + block.length + tail.length, path, undefined, file)));
      await this.zip.openEntry(path, this.date, file.sizeBound);
      const opened: OpenPiece = { path, part: this.partNumber, hash: createHash('sha256'), bytes: 0, records: 0 };
      await this.write(opened, head);
      return opened;
    };
    for await (const block of file.blocks) {
      if (at !== undefined && this.blocksWritten > 0 && this.deadlinePassed()) {
        // Out of time: this part ends here, complete, and the next call goes on from `at`.
        if (piece) written.push(await this.closePiece(piece, file));
        await this.finishPart();
        block.release?.();
        const pieces = before + written.length;
        throw new DeadlineReached(this.manifestEntries(written, file), pieces > 0 ? { ...at, path: file.path, pieces } : at);
      }
      if (piece) {
        const closed = await this.ensureRoom(block.data.length + tail.length, undefined, piece, file);
        if (closed.length > 0) {
          written.push(...closed);
          piece = undefined;
        }
      }
      const data = piece ? block.data : block.data.subarray(file.separatorBytes ?? 0);
      piece ??= await open(data);
      await this.write(piece, data, block.release);
      piece.records += block.records;
      this.blocksWritten += 1;
      at = block.end ?? at;
    }
    piece ??= await open(Buffer.alloc(0));
    written.push(await this.closePiece(piece, file));
    return this.manifestEntries(written, file);
  }

  private manifestEntries(written: OpenPiece[], file: FileContent): ManifestFile[] {
    const before = file.piecesBefore ?? 0;
    return written.map((done, index) => ({
      path: done.path,
      ...file.manifest,
      ...(file.manifest.format === 'file' ? {} : { records: done.records }),
      bytes: done.bytes,
      sha256: done.hash.digest('hex'),
      archivePart: done.part,
      ...(before + index > 0 ? { continues: file.path } : {}),
    }));
  }

  private async write(piece: OpenPiece, data: Buffer, release?: () => void): Promise<void> {
    piece.hash.update(data);
    piece.bytes += data.length;
    await this.zip.write(data, release);
  }

  private async closePiece(piece: OpenPiece, file: FileContent): Promise<OpenPiece> {
    await this.write(piece, Buffer.from(file.tail ?? '', 'utf8'));
    await this.zip.closeEntry();
    return piece;
  }

  /** Finishes the last part; returns every part's key and size. */
  async finish(): Promise<{ key: string; bytes: number }[]> {
    await this.finishPart();
    return this.finished;
  }

  /**
   * Abandons this call's share of the archive: the part being written is never completed, and parts this
   * call finished are deleted. Parts of earlier calls stay for a retry to go on after; an export that
   * fails for good has them removed with the rest of its objects.
   */
  async abort(error: Error): Promise<void> {
    this.zip.destroy(error);
    await this.uploaded.catch(() => undefined);
    // A part left behind would be a partial archive under archives/ until lifecycle removes it.
    await deleteObjects(
      this.deps.s3,
      this.deps.exportBucket.bucket,
      this.finished.slice(this.earlier).map((p) => p.key),
    );
  }
}

/**
 * index.html or manifest.json (not listed in the manifest): encoded first and then cut into blocks of
 * bytes, so no character is ever split in two (cutting the string would split a UTF-16 surrogate pair).
 */
function textFile(path: string, text: string, blockBytes: number): FileContent {
  const bytes = Buffer.from(text, 'utf8');
  const blocks = function* () {
    for (let start = 0; start < bytes.length; start += blockBytes) yield { data: bytes.subarray(start, start + blockBytes), records: 0 };
  };
  return { path, manifest: { sourceId: '', category: 'account', format: 'file' }, blocks: blocks(), piecePath: (n) => `${path}.part-${n}`, sizeBound: bytes.length };
}

/** What writing a source's files into the archive takes. */
interface Writing {
  exportId: string;
  deps: BundleDeps;
  archive: SplitArchive;
  paths: PathAllocator;
  blockBytes: number;
  buffers: BlockBuffers;
  /** The manifest's files so far, earlier calls' included; each file is added as it is written. */
  files: ManifestFile[];
}

/** The pieces of `path` (its first and those that continue it) among `files`. */
const piecesOf = (files: ManifestFile[], path: string) => files.filter((file) => file.path === path || file.continues === path);

/** Writes a DynamoDB source's JSON and CSV files from `at`; returns the records they hold. */
async function writeRecordFiles(
  source: Source,
  parts: string[],
  staged: number,
  formats: Format[],
  at: Position,
  { exportId, deps, archive, paths, blockBytes, buffers, files }: Writing,
) {
  const base = `${source.category}/${source.id}`;
  const keyAttributes = source.type === 'dynamodb' ? [source.partitionKey, ...(source.sortKey ? [source.sortKey] : [])] : [];
  const piecePath = (path: string, extension: string) => (n: number) => `${path.slice(0, -extension.length)}-part-${n}${extension}`;
  const records = (format: Format) => files.filter((file) => file.sourceId === source.id && file.format === format).reduce((sum, file) => sum + (file.records ?? 0), 0);
  // The CSV's columns; every part's list is read even without CSV, as the proof that the part holds
  // export JSON lines (the staging format of this version) and not something else.
  const seen = new Set<string>();
  for (let part = 0; part < parts.length; part += 1) for (const name of await readColumns(deps, exportId, source.id, part)) seen.add(name);

  // Staged lines are already the records' export JSON: the JSON file is those lines in an array; CSV
  // rows are rendered from the same bytes.
  const wanted = (['json', 'csv'] as const).filter((format) => formats.includes(format));
  // Bounds of the files' sizes from the staged bytes: JSON adds ",\n  " per record and its brackets; a
  // CSV cell at most doubles a value (quotes doubled, nested JSON quoted) and a row ends in CRLF.
  const stagedBytes = await stagedSize(deps, parts);
  for (const format of wanted.slice(at.format === undefined ? 0 : wanted.indexOf(at.format))) {
    const resuming = at.format === format;
    const extension = `.${format}`;
    const path = resuming && at.path !== undefined ? at.path : paths.allocate(`${base}${extension}`);
    const start: Position = resuming ? at : { source: at.source, format, part: 0, offset: 0 };
    const lines = stagedLineBlocks(deps, parts, blockBytes, start);
    const common = { path, manifest: { sourceId: source.id, category: source.category, format }, piecePath: piecePath(path, extension), start, piecesBefore: resuming ? (at.pieces ?? 0) : 0 };
    if (format === 'json') {
      const sizeBound = stagedBytes + 4 * staged + 8;
      files.push(...(await archive.addFile({ ...common, sizeBound, blocks: jsonArrayBlocks(lines, buffers), head: '[', tail: '\n]\n', separatorBytes: 1 })));
    } else {
      // An empty source still gets its header: the key columns, which every item has.
      const columns = seen.size === 0 ? keyAttributes : orderColumns(seen, keyAttributes.filter((k) => seen.has(k)));
      const head = (deps.dataMap.csv.byteOrderMark ? BYTE_ORDER_MARK : '') + csvHeader(columns);
      const sizeBound = 2 * stagedBytes + 2 * staged + 2 * columns.length * staged + Buffer.byteLength(head);
      files.push(...(await archive.addFile({ ...common, sizeBound, blocks: csvBlocks(lines, new CsvRows(columns, buffers), buffers), head })));
    }
  }
  if (wanted.length === 2 && records('json') !== records('csv')) throw new ArchiveWriteError(`Source "${source.id}" changed while it was being archived.`);
  return records(wanted[0] ?? 'json');
}

/** U+FEFF at the start of every CSV piece, so spreadsheets read it as UTF-8. */
const BYTE_ORDER_MARK = '\ufeff';

/** Bytes of a source's staged parts, together. */
async function stagedSize(deps: BundleDeps, parts: string[]): Promise<number> {
  let total = 0;
  for (const part of parts) {
    const head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.exportBucket.bucket, Key: part }));
    total += head.ContentLength ?? 0;
  }
  return total;
}

/**
 * The staged lines of the parts as they are stored, from `start` on, in blocks of about `blockBytes`
 * cut after a newline (a record longer than that is a block alone). Lines are never decoded here. Each
 * block is a view of one reused buffer, valid until the next block is asked for: its consumers copy it
 * at once. Each says where the lines after it start.
 */
async function* stagedLineBlocks(deps: BundleDeps, parts: string[], blockBytes: number, start: Position): AsyncGenerator<{ lines: Buffer; end: Position }> {
  let buffer = Buffer.allocUnsafeSlow(2 * blockBytes);
  let length = 0;
  for (let part = start.part ?? 0; part < parts.length; part += 1) {
    const key = parts[part] as string;
    // `consumed`: bytes of this part before buffer[0].
    let consumed = part === start.part ? (start.offset ?? 0) : 0;
    const at = (offset: number): Position => ({ source: start.source, format: start.format, part, offset });
    for await (const chunk of await getObject(deps.s3, deps.exportBucket.bucket, key, consumed)) {
      if (length + (chunk as Buffer).length > buffer.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(2 * buffer.length, length + (chunk as Buffer).length));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      length += (chunk as Buffer).copy(buffer, length);
      if (length < blockBytes) continue;
      let from = 0;
      while (length - from >= blockBytes) {
        let cut = buffer.lastIndexOf(NEWLINE, from + blockBytes - 1) + 1;
        if (cut <= from) cut = buffer.indexOf(NEWLINE, from + blockBytes) + 1;
        if (cut <= from || cut > length) break;
        yield { lines: buffer.subarray(from, cut), end: at(consumed + cut) };
        from = cut;
      }
      consumed += from;
      length = buffer.copy(buffer, 0, from, length);
    }
    if (length > 0) {
      // A part always ends with a newline; a missing one would mean a truncated part.
      if (buffer[length - 1] !== NEWLINE) throw new ArchiveWriteError(`Staging part ${key} ends in the middle of a record.`);
      yield { lines: buffer.subarray(0, length), end: { source: start.source, format: start.format, part: part + 1, offset: 0 } };
      length = 0;
    }
  }
}

/** The JSON file's records: each staged line preceded by ",\n  " (a piece's first block drops the comma). */
async function* jsonArrayBlocks(lineBlocks: AsyncIterable<{ lines: Buffer; end: Position }>, buffers: BlockBuffers): AsyncGenerator<Block> {
  const separator = Buffer.from(',\n  ');
  for await (const { lines, end } of lineBlocks) yield { ...withSeparators(lines, separator, buffers), end };
}

/** The CSV file's rows, rendered from the staged lines' bytes. */
async function* csvBlocks(lineBlocks: AsyncIterable<{ lines: Buffer; end: Position }>, rows: CsvRows, buffers: BlockBuffers): AsyncGenerator<Block> {
  for await (const { lines, end } of lineBlocks) {
    const { data, records } = rows.render(lines);
    yield { data, records, release: () => buffers.give(data), end };
  }
}

const NEWLINE = 0x0a;

/** Newline-terminated lines → the same lines each preceded by `separator`, and how many there were. */
function withSeparators(lines: Buffer, separator: Buffer, buffers: BlockBuffers): Block {
  let records = 0;
  for (let at = lines.indexOf(NEWLINE); at !== -1; at = lines.indexOf(NEWLINE, at + 1)) records += 1;
  const length = lines.length - records + records * separator.length;
  const out = buffers.take(length);
  let from = 0;
  let to = 0;
  for (let at = lines.indexOf(NEWLINE); at !== -1; at = lines.indexOf(NEWLINE, from)) {
    to += separator.copy(out, to);
    to += lines.copy(out, to, from, at);
    from = at + 1;
  }
  return { data: out.subarray(0, length), records, release: () => buffers.give(out) };
}

/** The attribute names the collector saw in one part. */
async function readColumns(deps: BundleDeps, exportId: string, sourceId: string, part: number): Promise<string[]> {
  try {
    return await readJson<string[]>(deps.s3, deps.exportBucket.bucket, columnsKey(exportId, sourceId, part));
  } catch (error) {
    if ((error as Error).name !== 'NoSuchKey') throw error;
    throw new ArchiveWriteError(`Part ${part} of source "${sourceId}" has no column list; it was staged by another version of the collector. Start the export again.`, { cause: error });
  }
}

interface StagedObject {
  sequence: number;
  key: string;
  size: number;
}

/** Writes an S3 source's files from `at`; returns how many objects they hold. */
async function writeObjectFiles(source: Source, parts: string[], at: Position, { exportId, deps, archive, paths, blockBytes, buffers, files }: Writing) {
  const skip = at.object ?? 0;
  const resumeOffset = at.offset ?? 0;
  // The first object listed is the one a call may have cut mid-way; it goes on from its offset.
  const fetch = (object: StagedObject, index: number) =>
    getObject(deps.s3, deps.exportBucket.bucket, stagedObjectKey(exportId, source.id, object.sequence), index === 0 ? resumeOffset : 0);
  let ordinal = skip;
  for await (const { object, body } of prefetched(stagedObjects(deps, parts, skip), fetch, PREFETCH_OBJECTS)) {
    const resuming = ordinal === skip && at.path !== undefined;
    const relative = safeRelativePath(object.key) || `object-${object.sequence}`;
    const path = resuming ? (at.path as string) : paths.allocate(`${source.category}/${source.id}/${relative}`);
    const start: Position = resuming ? at : { source: at.source, object: ordinal, offset: 0 };
    // Bytes of the pieces earlier calls wrote (looked up only for the file they cut: a source of tens of
    // thousands of files must not search the whole manifest for each).
    const earlier = resuming ? piecesOf(files, path).reduce((sum, file) => sum + file.bytes, 0) : 0;
    const written = await archive.addFile({
      path,
      manifest: { sourceId: source.id, category: source.category, format: 'file', originalKey: object.key },
      blocks: byteBlocks(await body, blockBytes, buffers, start),
      sizeBound: object.size,
      piecePath: (n) => `${path}.part-${n}`,
      start,
      piecesBefore: resuming ? (at.pieces ?? 0) : 0,
    });
    files.push(...written);
    const bytes = written.reduce((sum, file) => sum + file.bytes, earlier);
    if (bytes !== object.size) {
      throw new ArchiveWriteError(`File "${object.key}" of source "${source.id}" should have ${object.size} bytes but ${bytes} were read.`);
    }
    ordinal += 1;
  }
  return files.filter((file) => file.sourceId === source.id && file.continues === undefined).length;
}

/** Staged objects whose GET is already under way while the ones before them are archived: a source of tens of thousands of small files waits on one round trip at a time otherwise. */
const PREFETCH_OBJECTS = 8;

/** The source's staged objects in order, the first `skip` left out. */
async function* stagedObjects(deps: BundleDeps, parts: string[], skip: number): AsyncGenerator<StagedObject> {
  let ordinal = 0;
  for (const part of parts) {
    for await (const lines of readLines(deps.s3, deps.exportBucket.bucket, part)) {
      for (const line of lines) if (ordinal++ >= skip) yield JSON.parse(line) as StagedObject;
    }
  }
}

/** Each item with its fetch started up to `depth` items ahead. Bodies fetched but never used are released. */
async function* prefetched<T, R extends Readable>(items: AsyncIterable<T>, fetch: (item: T, ordinal: number) => Promise<R>, depth: number): AsyncGenerator<{ object: T; body: Promise<R> }> {
  const queue: { object: T; body: Promise<R> }[] = [];
  try {
    let ordinal = 0;
    for await (const object of items) {
      const body = fetch(object, ordinal++);
      body.catch(() => undefined);
      queue.push({ object, body });
      if (queue.length >= depth) yield queue.shift() as { object: T; body: Promise<R> };
    }
    while (queue.length > 0) yield queue.shift() as { object: T; body: Promise<R> };
  } finally {
    for (const left of queue) void left.body.then((body) => body.destroy(), () => undefined);
  }
}

/**
 * A stream's bytes in blocks of exactly `blockBytes` (the last one shorter), copied into reused buffers;
 * the stream starts at `start.offset` of its object, and each block says where the next one starts.
 */
async function* byteBlocks(body: Readable, blockBytes: number, buffers: BlockBuffers, start: Position): AsyncGenerator<Block> {
  let offset = start.offset ?? 0;
  const block = (data: Buffer, length: number): Block => {
    offset += length;
    return { data: data.subarray(0, length), records: 0, release: () => buffers.give(data), end: { source: start.source, object: start.object, offset } };
  };
  let filling = buffers.take(blockBytes);
  let length = 0;
  for await (const chunk of body) {
    for (let at = 0; at < (chunk as Buffer).length; ) {
      const copied = (chunk as Buffer).copy(filling, length, at, at + blockBytes - length);
      length += copied;
      at += copied;
      if (length < blockBytes) continue;
      yield block(filling, length);
      filling = buffers.take(blockBytes);
      length = 0;
    }
  }
  if (length > 0) yield block(filling, length);
  else buffers.give(filling);
}

/** A staged object's body, from byte `from` on (a call going on where the one before it stopped). */
async function getObject(s3: S3Client, bucket: string, key: string, from = 0): Promise<Readable> {
  let object;
  try {
    object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: from > 0 ? `bytes=${from}-` : undefined }));
  } catch (error) {
    // Going on exactly at the end: nothing is left to read.
    if (from > 0 && (error as Error).name === 'InvalidRange') return Readable.from([]);
    throw error;
  }
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
