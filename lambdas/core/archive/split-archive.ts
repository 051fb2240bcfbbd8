// The archive as it is written: numbered parts, each a complete ZIP under maxArchiveBytes, a file that
// does not fit going on in the next part as a new piece, and a part finished early when the call's
// deadline comes (DeadlineReached carries where to go on).
import type { Clock } from '../platform/clock.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { PathAllocator } from './archive-paths.ts';
import type { DataMap } from '../data-map/data-map.ts';
import { ArchiveWriteError } from '../platform/errors.ts';
import type { ManifestFile } from './manifest.ts';
import { archiveFileName, archiveKey } from '../storage/object-keys.ts';
import { deleteObjects, uploadStream, type ExportBucket } from '../storage/export-bucket.ts';
import { ZipWriter } from './zip/zip-writer.ts';
import type { BlockBuffers, FileContent, Position } from './archive-file.ts';
import type { ColumnType } from '../values/column-types.ts';

export interface ArchiveDeps {
  s3: S3Client;
  exportBucket: ExportBucket;
  dataMap: DataMap;
  now: Clock;
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

/** Raised inside a file when the deadline has come: the pieces of it written in this call, and where to go on. Never leaves buildArchive. */
export class DeadlineReached extends Error {
  constructor(
    readonly pieces: ManifestFile[],
    readonly at: Position,
  ) {
    super('The call ran out of time; the archive goes on in the next call.');
  }
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
export class SplitArchive {
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
    private readonly deps: ArchiveDeps,
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
          `maxArchiveBytes (${limit}) is too small to hold ${listed(files.map((f) => f.path))} whole (${entries().reduce((sum, e) => sum + e.bytes, 0)} bytes); raise it.`,
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

/** "a", "a and b", "a, b and c". */
const listed = (names: string[]) => (names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`);

/** What writing a source's files into the archive takes. */
export interface Writing {
  exportId: string;
  deps: ArchiveDeps;
  archive: SplitArchive;
  paths: PathAllocator;
  blockBytes: number;
  buffers: BlockBuffers;
  /** The manifest's files so far, earlier calls' included; each file is added as it is written. */
  files: ManifestFile[];
  /** Records sources' CSV columns and their cells' types, as read by this call (for datapackage.json). */
  tables: Map<string, [string, ColumnType][]>;
}

/** The pieces of `path` (its first and those that continue it) among `files`. */
export const piecesOf = (files: ManifestFile[], path: string) => files.filter((file) => file.path === path || file.continues === path);
