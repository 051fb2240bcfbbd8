// How FileBackedS3 keeps objects on disk, and what its object and multipart commands share: an object is
// one file or a list of segments (runs of other files' bytes), byte ranges over segments, S3's errors.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';

export const MIB = 1024 * 1024;

/** The input fields the stand-in reads, of every command it answers. */
export type CommandInput = {
  Bucket: string;
  Key: string;
  Body?: unknown;
  UploadId?: string;
  PartNumber?: number;
  Prefix?: string;
  StartAfter?: string;
  ContinuationToken?: string;
  CopySource?: string;
  CopySourceRange?: string;
  Range?: string;
  CopySourceIfMatch?: string;
  ChecksumAlgorithm?: string;
  MultipartUpload?: { Parts?: { PartNumber?: number; ETag?: string; ChecksumCRC32?: string }[] };
};

/** A run of bytes of a file on disk. */
export interface Segment {
  file: string;
  start: number;
  length: number;
}

export const s3Error = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: name === 'NoSuchKey' ? 404 : 400 } });

/** The objects under `root`: `<bucket>/<key>` files, or `.segments/<bucket>/<key>.json` lists of segments. */
export class ObjectFiles {
  constructor(readonly root: string) {}

  /** The file of a stored object that is one file (not an object made of copied parts). */
  path(bucket: string, key: string): string {
    return join(this.root, bucket, encodeURIComponent(key));
  }

  private segmentsPath(bucket: string, key: string): string {
    return join(this.root, '.segments', bucket, `${encodeURIComponent(key)}.json`);
  }

  /** An object's ETag: it changes whenever the object is written again (its file's size and time). */
  etagOf(bucket: string, key: string): string {
    const sidecar = this.segmentsPath(bucket, key);
    const stat = statSync(existsSync(sidecar) ? sidecar : this.path(bucket, key));
    return `"${createHash('md5').update(`${stat.size}:${stat.mtimeMs}:${stat.ino}`).digest('hex')}"`;
  }

  /** The object's bytes as segments: its file, or the segments it was completed from. */
  segmentsOf(bucket: string, key: string, missing = 'NoSuchKey'): Segment[] {
    const sidecar = this.segmentsPath(bucket, key);
    if (existsSync(sidecar)) return JSON.parse(readFileSync(sidecar, 'utf8')) as Segment[];
    const file = this.path(bucket, key);
    if (!existsSync(file)) throw Object.assign(s3Error(missing, 'The specified key does not exist.'), { $metadata: { httpStatusCode: 404 } });
    return [{ file, start: 0, length: statSync(file).size }];
  }

  keys(bucket: string): string[] {
    const plain = join(this.root, bucket);
    const segmented = join(this.root, '.segments', bucket);
    return [
      ...(existsSync(plain) ? readdirSync(plain).map((name) => decodeURIComponent(name)) : []),
      ...(existsSync(segmented) ? readdirSync(segmented).map((name) => decodeURIComponent(name.slice(0, -'.json'.length))) : []),
    ];
  }

  remove(bucket: string, key: string): void {
    rmSync(this.path(bucket, key), { force: true });
    rmSync(this.segmentsPath(bucket, key), { force: true });
  }

  /** Replaces the object with one file, which `put` writes at the path it is given. */
  async place(bucket: string, key: string, put: (target: string) => Promise<void>): Promise<void> {
    this.remove(bucket, key);
    const target = this.path(bucket, key);
    mkdirSync(dirname(target), { recursive: true });
    await put(target);
  }

  /** Replaces the object with one made of `segments` of other files, read in turn. */
  placeSegments(bucket: string, key: string, segments: Segment[]): void {
    this.remove(bucket, key);
    const sidecar = this.segmentsPath(bucket, key);
    mkdirSync(dirname(sidecar), { recursive: true });
    writeFileSync(sidecar, JSON.stringify(segments));
  }
}

export function parseCopySource(source: string | undefined): { bucket: string; key: string } {
  const path = decodeURIComponent((source ?? '').replace(/^\//, ''));
  const slash = path.indexOf('/');
  if (slash < 1) throw s3Error('InvalidArgument', `Copy Source must mention the source bucket and key: ${source}`);
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

/** "bytes=first-last" (or "bytes=first-") of an object of `size` bytes, as S3 reads it. */
export function parseRange(range: string | undefined, size: number, errorName: string): [number, number] {
  const match = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
  if (!match) throw s3Error(errorName, `The range "${range}" is not of the form bytes=first-last.`);
  const first = Number(match[1]);
  const last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (first > last || first >= size) throw s3Error(errorName, `The range "${range}" is not satisfiable for an object of ${size} bytes.`);
  if (errorName === 'InvalidArgument' && Number(match[2]) > size - 1) throw s3Error(errorName, `The range "${range}" ends past the object's ${size} bytes.`);
  return [first, last];
}

/** How many bytes `segments` hold. */
export const bytesOf = (segments: Segment[]) => segments.reduce((sum, segment) => sum + segment.length, 0);

/** The `length` bytes from `first` on of an object made of `segments`. */
export function sliceSegments(segments: Segment[], first: number, length: number): Segment[] {
  const out: Segment[] = [];
  let skip = first;
  let left = length;
  for (const segment of segments) {
    if (left === 0) break;
    if (skip >= segment.length) {
      skip -= segment.length;
      continue;
    }
    const take = Math.min(segment.length - skip, left);
    out.push({ file: segment.file, start: segment.start + skip, length: take });
    left -= take;
    skip = 0;
  }
  return out;
}

/** The bytes of `segments` in turn, as one stream. */
export function streamSegments(segments: Segment[]): Readable {
  const stream = (segment: Segment) => createReadStream(segment.file, { start: segment.start, end: segment.start + segment.length - 1, highWaterMark: MIB });
  const [only] = segments;
  if (segments.length === 1 && only && only.length > 0) return stream(only);
  return Readable.from(
    (async function* () {
      for (const segment of segments) if (segment.length > 0) yield* stream(segment);
    })(),
    { objectMode: false },
  );
}
