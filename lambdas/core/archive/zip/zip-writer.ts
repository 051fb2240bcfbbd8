// A streaming ZIP writer whose entries are deflated in blocks on all cores. Each block is compressed on
// libuv's thread pool as its own raw-deflate stream primed with the previous block's last 32 KiB (so
// compression barely suffers) and ended with a sync flush (byte-aligned, not final); the blocks'
// outputs, written in order and closed by an empty final block, form one valid deflate stream — the
// scheme pigz uses. The main thread only hashes (zlib.crc32, native) and writes headers.
//
// Why not archiver: it deflates one entry at a time through one zlib stream, so an archive can never
// use more than one core for compression, and it cannot tell how big the archive will be once the
// bytes in flight are written — which splitting an archive at a size limit needs. The format written
// here is the plain one every reader knows: local header with a data descriptor (sizes follow the
// data), ZIP64 fields exactly when a size, an offset or the entry count passes the classic limits.
//
// A reader that streams (bsdtar from a pipe) learns an entry's sizes only from its local header and
// data descriptor, so the two must agree (APPNOTE 4.3.9.2): an entry that may reach 4 GiB — its size
// bound says so, or it has none — carries a ZIP64 extra field in its local header and an 8-byte
// descriptor, decided when it is opened; every other entry stays classic. "Version needed" is the same
// in both headers. Each entry also carries its time as UTC (the extended-timestamp field, 0x5455),
// which unzip, 7-Zip and libarchive prefer to the DOS fields, a local time with no zone.
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { constants, crc32, deflateRaw, deflateRawSync, type ZlibOptions } from 'node:zlib';
import { availableParallelism } from 'node:os';
import { FailureLatch } from '../../platform/failure-latch.ts';
import {
  centralRecord,
  centralRecordBytes,
  dataDescriptor,
  endRecords,
  END_RECORDS_BYTES,
  LOCAL_EXTRA_BYTES,
  LOCAL_HEADER_BYTES,
  localHeader,
  toDosTime,
  UINT16_LIMIT,
  UINT32_LIMIT,
  type CentralRecord,
} from './zip-records.ts';

export interface ZipWriterOptions {
  /** zlib level (default 6). */
  level?: number;
  /**
   * Blocks in flight at once (default: one per core, plus one queued, so a thread that finishes finds
   * the next block waiting instead of idling while the main thread prepares it: ~15% faster on 2 cores).
   */
  concurrency?: number;
}

interface OpenEntry {
  name: string;
  zip64: boolean;
  unixTime: number;
  nameBytes: Buffer;
  dosTime: number;
  offset: number;
  size: number;
  compressedSize: number;
  crc32: number;
  /** Bytes at the start of the writer's history buffer: the last (up to) 32 KiB written to this entry. */
  historyBytes: number;
  /** Blocks being deflated (or deflated but not yet written), in order, with their size bound. */
  inFlight: { deflated: Promise<Buffer>; bound: number }[];
}

const WINDOW = 32 * 1024;
const OUTPUT_CHUNK_BYTES = 128 * 1024;
const COALESCE_BYTES = 64 * 1024;
const SYNC_DEFLATE_BYTES = 16 * 1024;
/** An empty final fixed-Huffman block: ends a deflate stream whose blocks were sync-flushed. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/** Largest size a deflate of `length` bytes can have, one sync flush included (zlib's deflateBound plus 5). */
export const deflateBound = (length: number) => length + (length >>> 12) + (length >>> 14) + (length >>> 25) + 18;

/**
 * A deflate engine sized to its input: a small file gets a small window and hash table (a full-size
 * engine is ~300 KB of native memory, and tens of thousands of them would keep the GC busy); its
 * output fits one chunk. Any window size decodes with the standard 32 KiB window.
 */
function engineSize(inputBytes: number): Pick<ZlibOptions, 'windowBits' | 'memLevel' | 'chunkSize'> {
  const windowBits = Math.min(15, Math.max(9, Math.ceil(Math.log2(inputBytes + 1))));
  return { windowBits, memLevel: Math.max(1, Math.min(8, windowBits - 7)), chunkSize: Math.min(OUTPUT_CHUNK_BYTES, Math.max(1024, deflateBound(inputBytes))) };
}

/** Worst-case bytes that closing an entry adds after its data: the final block and a ZIP64 data descriptor. */
const ENTRY_CLOSE_BYTES = FINAL_BLOCK.length + 24;

export class ZipWriter {
  /** The archive's bytes, for the upload to read: buffers passed on as they are (object mode, no copy), at most 16 queued. */
  readonly output = new PassThrough({ objectMode: true, highWaterMark: 16 });
  private offset = 0;
  private readonly central: CentralRecord[] = [];
  private entry: OpenEntry | undefined;
  private readonly zlib: ZlibOptions;
  private readonly concurrency: number;
  /** Latches when the upload dies: nobody would read the bytes, so every wait ends with its error. */
  private readonly failure = new FailureLatch();

  constructor(options: ZipWriterOptions = {}) {
    this.zlib = { level: options.level ?? 6, finishFlush: constants.Z_SYNC_FLUSH };
    this.concurrency = Math.max(1, options.concurrency ?? availableParallelism() + 1);
  }

  /** Makes every pending and later write reject once `upload` does: nobody would read the bytes. */
  abortOn(upload: Promise<unknown>): void {
    upload.catch((error: unknown) => this.failure.fail(error));
  }

  get entryCount(): number {
    return this.central.length;
  }

  /**
   * An upper bound of the archive's size if it were finished after `pending` more uncompressed bytes:
   * written bytes, the bound of blocks in flight and of `pending`, closing the open entry (or opening
   * and closing the entry `opening`), and the central directory. A split archive keeps each part under
   * its limit with it.
   */
  sizeIfFinished(pending = 0, opening?: string): number {
    let entry = 0;
    if (this.entry) entry = ENTRY_CLOSE_BYTES + centralRecordBytes(this.entry.nameBytes.length);
    else if (opening !== undefined) {
      const nameLength = Buffer.byteLength(opening, 'utf8');
      entry = LOCAL_HEADER_BYTES + LOCAL_EXTRA_BYTES + nameLength + ENTRY_CLOSE_BYTES + centralRecordBytes(nameLength);
    }
    return this.offset + this.pendingBound + deflateBound(pending) + entry + this.centralBytes + END_RECORDS_BYTES;
  }

  /**
   * An upper bound of the archive's size if whole `entries` were added after what is open or in flight
   * now (each written in blocks of at most `blockBytes`), and it were finished then.
   */
  sizeIfFinishedWith(entries: { name: string; bytes: number }[], blockBytes: number): number {
    let added = 0;
    for (const { name, bytes } of entries) {
      const nameLength = Buffer.byteLength(name, 'utf8');
      const blocks = Math.max(1, Math.ceil(bytes / blockBytes));
      added += LOCAL_HEADER_BYTES + LOCAL_EXTRA_BYTES + nameLength + deflateBound(bytes) + 18 * blocks + ENTRY_CLOSE_BYTES + centralRecordBytes(nameLength);
    }
    return this.sizeIfFinished() + added;
  }

  /** Upper bound of the compressed bytes of blocks still being deflated. */
  private pendingBound = 0;
  /** Bytes the central directory will take (at most), for the entries closed so far. */
  private centralBytes = 0;

  /**
   * Starts an entry; its data follows through write() and ends with closeEntry(). `sizeBound`: at most
   * how many bytes it will hold; without one, the entry is written as ZIP64 in case it passes 4 GiB.
   */
  async openEntry(name: string, date: Date, sizeBound?: number): Promise<void> {
    if (this.entry) throw new Error(`ZIP entry "${this.entry.name}" is still open`);
    const nameBytes = Buffer.from(name, 'utf8');
    if (nameBytes.length > UINT16_LIMIT) throw new Error(`ZIP entry name is too long (${nameBytes.length} bytes)`);
    const dosTime = toDosTime(date);
    const unixTime = Math.max(0, Math.min(UINT32_LIMIT, Math.floor(date.getTime() / 1000)));
    // The offset is known now, the sizes only bounded: whatever will need ZIP64 in the central record
    // is decided here, so that both headers say the same.
    const zip64 = sizeBound === undefined || deflateBound(sizeBound) + FINAL_BLOCK.length >= UINT32_LIMIT || this.offset >= UINT32_LIMIT;
    this.entry = { name, nameBytes, zip64, unixTime, dosTime, offset: this.offset, size: 0, compressedSize: 0, crc32: 0, historyBytes: 0, inFlight: [] };
    for (const part of localHeader({ zip64, dosTime, unixTime, nameBytes })) await this.emit(part);
  }

  /**
   * Adds bytes to the open entry as one block, deflated on the thread pool while the caller prepares
   * the next. Returns once the block is queued; waits only when `concurrency` blocks are in flight.
   * `release` is called once the writer no longer reads `data` (its deflate is done), so the caller may
   * reuse the buffer; until then it must not change.
   */
  async write(data: Buffer, release?: () => void): Promise<void> {
    const entry = this.openOrThrow();
    if (data.length === 0) {
      release?.();
      return;
    }
    entry.crc32 = crc32(data, entry.crc32);
    entry.size += data.length;
    // 128 KiB output chunks: a block of text deflates into one or two (zlib's default 16 KiB would call
    // back into JavaScript many times per block), without a block-sized output buffer per block.
    // zlib copies the dictionary when the engine is made, so the history buffer can move on at once.
    const history = entry.historyBytes > 0 ? { dictionary: this.history.subarray(0, entry.historyBytes) } : {};
    const options = { ...this.zlib, ...engineSize(data.length + entry.historyBytes), ...history };
    const bound = deflateBound(data.length);
    this.pendingBound += bound;
    // A small block is deflated here and now: a trip through the thread pool would cost more than the work.
    const deflated =
      data.length < SYNC_DEFLATE_BYTES
        ? Promise.resolve(deflateRawSync(data, options))
        : new Promise<Buffer>((resolve, reject) => deflateRaw(data, options, (error, result) => (error ? reject(error) : resolve(result))));
    this.remember(entry, data);
    if (release) void deflated.then(release, release);
    else deflated.catch(() => undefined);
    entry.inFlight.push({ deflated, bound });
    if (entry.inFlight.length >= this.concurrency) await this.writeOldestBlock(entry);
  }

  /** The entry's last 32 KiB (the next block's dictionary), kept in a buffer of the writer's own. */
  private readonly history = Buffer.allocUnsafe(WINDOW);

  private remember(entry: OpenEntry, data: Buffer): void {
    if (data.length >= WINDOW) {
      data.copy(this.history, 0, data.length - WINDOW);
      entry.historyBytes = WINDOW;
      return;
    }
    const kept = Math.min(entry.historyBytes, WINDOW - data.length);
    this.history.copy(this.history, 0, entry.historyBytes - kept, entry.historyBytes);
    data.copy(this.history, kept);
    entry.historyBytes = kept + data.length;
  }

  /** Waits for every block in flight and writes it. */
  async drain(): Promise<void> {
    const entry = this.entry;
    while (entry && entry.inFlight.length > 0) await this.writeOldestBlock(entry);
  }

  /** Ends the open entry: the rest of its blocks, the final block, the data descriptor. */
  async closeEntry(): Promise<void> {
    const entry = this.openOrThrow();
    await this.drain();
    await this.emit(FINAL_BLOCK);
    entry.compressedSize += FINAL_BLOCK.length;
    const zip64 = entry.zip64;
    if (!zip64 && (entry.size >= UINT32_LIMIT || entry.compressedSize >= UINT32_LIMIT)) {
      throw new Error(`ZIP entry "${entry.name}" passed 4 GiB although it was opened with a smaller size bound`);
    }
    await this.emit(dataDescriptor(entry));
    this.entry = undefined;
    this.central.push(entry);
    this.centralBytes += centralRecordBytes(entry.nameBytes.length);
  }

  /** Writes the central directory and ends the output. */
  async finish(): Promise<number> {
    if (this.entry) throw new Error(`ZIP entry "${this.entry.name}" is still open`);
    const start = this.offset;
    for (const record of this.central) await this.emit(centralRecord(record));
    const length = this.offset - start;
    for (const record of endRecords({ start, length, count: this.central.length, offset: this.offset })) await this.emit(record);
    await this.flush();
    this.output.end();
    return this.offset;
  }

  /** Stops: the output fails with `error`, so an upload reading it aborts instead of completing. */
  destroy(error: Error): void {
    this.output.destroy(error);
  }

  private openOrThrow(): OpenEntry {
    if (!this.entry) throw new Error('No ZIP entry is open');
    return this.entry;
  }

  private async writeOldestBlock(entry: OpenEntry): Promise<void> {
    const next = entry.inFlight.shift();
    if (!next) return;
    const deflated = await this.failure.guard(next.deflated);
    // zlib returns a view of its chunk-sized output buffer; a copy of the right size lets that go at once
    // instead of for as long as the upload holds the block.
    const block = deflated.buffer.byteLength > 2 * deflated.length ? Buffer.from(deflated) : deflated;
    // The block's bound stops counting only as its bytes start counting, so sizeIfFinished never dips.
    this.pendingBound -= next.bound;
    entry.compressedSize += block.length;
    await this.emit(block);
  }

  /** Headers and small blocks wait here and leave together: tens of thousands of small files stay cheap. */
  private small: Buffer[] = [];
  private smallBytes = 0;

  private async emit(chunk: Buffer): Promise<void> {
    this.offset += chunk.length;
    if (chunk.length < COALESCE_BYTES) {
      this.small.push(chunk);
      this.smallBytes += chunk.length;
      if (this.smallBytes < COALESCE_BYTES) return;
      await this.flush();
      return;
    }
    await this.flush();
    await this.push(chunk);
  }

  private async flush(): Promise<void> {
    if (this.small.length === 0) return;
    const joined = Buffer.concat(this.small, this.smallBytes);
    this.small = [];
    this.smallBytes = 0;
    await this.push(joined);
  }

  private async push(chunk: Buffer): Promise<void> {
    if (this.output.write(chunk)) return;
    const drained = once(this.output, 'drain');
    await this.failure.guard(drained);
  }
}
