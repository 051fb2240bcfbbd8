// A file on its way into the archive: its content as blocks (runs of whole records, or of a file's
// bytes) in reused buffers, and where each block leaves the archive in its input (a resume point).
import type { OutputBuffers } from './csv/csv-rows.ts';
import type { Format } from '../data-map/identifiers.ts';
import type { ManifestFile } from './manifest.ts';

/**
 * Where the archive stands in its input: which source, and in it which file (a records file of a format,
 * or the n-th staged object), how far into its staged bytes, and for a file cut part-way its path and
 * how many pieces of it are written.
 */
export interface Position {
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

/** A run of whole records (or bytes of a file): the unit that is deflated, and where a file may be cut. */
export interface Block {
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
export class BlockBuffers implements OutputBuffers {
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
export interface FileContent {
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
  /** A file written whole (index.html, manifest.json): its bytes, for datapackage.json to describe. */
  content?: Buffer;
}

/**
 * index.html, manifest.json or datapackage.json (not listed in the manifest): encoded first and then cut into blocks of
 * bytes, so no character is ever split in two (cutting the string would split a UTF-16 surrogate pair).
 */
export function textFile(path: string, text: string, blockBytes: number): FileContent {
  const bytes = Buffer.from(text, 'utf8');
  const blocks = function* () {
    for (let start = 0; start < bytes.length; start += blockBytes) yield { data: bytes.subarray(start, start + blockBytes), records: 0 };
  };
  return {
    path,
    manifest: { sourceId: '', category: 'account', format: 'file' },
    blocks: blocks(),
    piecePath: (n) => `${path}.part-${n}`,
    sizeBound: bytes.length,
    content: bytes,
  };
}
