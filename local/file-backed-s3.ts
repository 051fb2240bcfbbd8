// A stand-in for S3 at sizes the emulator cannot take (gigabytes, tens of thousands of objects, 10,000
// parts, objects past 5 GiB): objects are files under a folder, uploads stream to disk, and keys under a
// "discard" prefix are counted and dropped (an upload sink for the benchmark). It answers only the
// commands the collector and archive builder send, but those as strictly as S3 does: part numbers 1–10,000,
// parts of at most 5 GiB, every part but the last at least 5 MiB, parts completed in ascending order
// with their ETags, objects of at most 5 TiB, copy ranges inside their source.
//
// Without writing them: a part copied with UploadPartCopy is kept as a reference to the bytes it copies,
// and an object made of references is a list of segments read in turn. A source object made as a sparse
// file (createSparse) holds gigabytes in no disk space, so an object past 5 GiB costs nothing to copy.
import type { S3Client } from '@aws-sdk/client-s3';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { appendFile, open, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

type Command = { constructor: { name: string }; input: Record<string, unknown> };

const MIB = 1024 * 1024;
const MIN_PART_BYTES = 5 * MIB;
const MAX_PART_BYTES = 5 * 1024 * MIB;
const MAX_PARTS = 10_000;
const MAX_OBJECT_BYTES = 5 * 1024 * 1024 * MIB;
const MAX_KEYS = 1000;

/** A run of bytes of a file on disk. */
interface Segment {
  file: string;
  start: number;
  length: number;
}

interface Part {
  bytes: number;
  etag: string;
  crc32?: string;
  /** Where its bytes are: at `offset` of the upload's file, or segments of other files. */
  offset?: number;
  segments?: Segment[];
}

interface Upload {
  bucket: string;
  key: string;
  /** The checksum the upload was created with: every part must then carry it, and completion list it. */
  checksum?: 'CRC32';
  /** Parts whose predecessors were all known when they arrived are written here, at their offset. */
  file: string;
  parts: Map<number, Part>;
  /** Files of parts written elsewhere (out of order), removed with the upload. */
  sideFiles: string[];
}

const s3Error = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: name === 'NoSuchKey' ? 404 : 400 } });

export class FileBackedS3 {
  /** Bytes received under the discard prefix. */
  discarded = 0;
  /** Every command answered, by name (for tests that assert how an object was written). */
  readonly calls: { name: string; bucket?: string; key?: string; range?: string }[] = [];
  private readonly uploads = new Map<string, Upload>();

  /**
   * `checksums`: the client reports the SDK's default, WHEN_SUPPORTED, so writers declare CRC-32 on their
   * uploads; the stand-in then computes each part's CRC-32 and wants it listed at completion, as S3 does.
   */
  constructor(
    readonly root: string,
    private readonly discardPrefix?: string,
    private readonly options: { checksums?: boolean } = {},
  ) {
    mkdirSync(root, { recursive: true });
  }

  /** Typed as the SDK client the handlers expect; it answers exactly the commands they send. */
  asClient(): S3Client {
    // The multipart writer reads the checksum setting off the client's config.
    const config = { requestChecksumCalculation: () => Promise.resolve(this.options.checksums ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED') };
    return { send: (command: Command) => this.send(command), config } as unknown as S3Client;
  }

  /** The file of a stored object that is one file (not an object made of copied parts). */
  path(bucket: string, key: string): string {
    return join(this.root, bucket, encodeURIComponent(key));
  }

  private segmentsPath(bucket: string, key: string): string {
    return join(this.root, '.segments', bucket, `${encodeURIComponent(key)}.json`);
  }

  /** Stores an object of `bytes` zero bytes as a sparse file: no disk space, any size. */
  createSparse(bucket: string, key: string, bytes: number): void {
    const file = this.path(bucket, key);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '');
    truncateSync(file, bytes);
  }

  /** Multipart uploads started and neither completed nor aborted. */
  get openUploads(): number {
    return this.uploads.size;
  }

  private async send(command: Command): Promise<unknown> {
    const input = command.input as {
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
    this.calls.push({ name: command.constructor.name, bucket: input.Bucket, key: input.Key, range: input.CopySourceRange ?? input.Range });
    switch (command.constructor.name) {
      case 'PutObjectCommand':
        await this.write(input.Bucket, input.Key, input.Body);
        return { ETag: '"put"' };
      case 'CreateMultipartUploadCommand': {
        const id = randomUUID();
        const file = join(this.root, '.uploads', id);
        mkdirSync(dirname(file), { recursive: true });
        await writeFile(file, '');
        if (input.ChecksumAlgorithm !== undefined && input.ChecksumAlgorithm !== 'CRC32')
          throw s3Error('InvalidRequest', `The stand-in knows only CRC32, not ${input.ChecksumAlgorithm}.`);
        this.uploads.set(id, { key: input.Key, bucket: input.Bucket, file, parts: new Map(), sideFiles: [], ...(input.ChecksumAlgorithm ? { checksum: 'CRC32' as const } : {}) });
        return { UploadId: id, Bucket: input.Bucket, Key: input.Key };
      }
      case 'UploadPartCommand': {
        const upload = this.upload(input.UploadId);
        const number = partNumber(input.PartNumber);
        const body = input.Body as Uint8Array;
        if (body.byteLength > MAX_PART_BYTES) throw s3Error('EntityTooLarge', `Part ${number} has ${body.byteLength} bytes; a part holds at most 5 GiB.`);
        const etag = `"${createHash('md5').update(`${number}:${body.byteLength}:${randomUUID()}`).digest('hex')}"`;
        // Decided before any await, so parts sent one after the other are placed in the order sent.
        if (upload.checksum && input.ChecksumAlgorithm !== upload.checksum) {
          throw s3Error('InvalidRequest', `The upload was created with ${upload.checksum} checksums; part ${number} carries ${input.ChecksumAlgorithm ?? 'none'}.`);
        }
        const offset = this.offsetOf(upload, number);
        const checksum = upload.checksum ? crc32Base64(body) : undefined;
        const part: Part = { bytes: body.byteLength, etag, ...(offset === undefined ? {} : { offset }), ...(checksum ? { crc32: checksum } : {}) };
        upload.parts.set(number, part);
        if (this.discards(upload.key)) {
          this.discarded += body.byteLength;
        } else if (offset !== undefined) {
          const file = await open(upload.file, 'r+');
          try {
            await file.write(body, 0, body.byteLength, offset);
          } finally {
            await file.close();
          }
        } else {
          const side = `${upload.file}.part-${number}`;
          upload.sideFiles.push(side);
          await writeFile(side, body);
          part.segments = [{ file: side, start: 0, length: body.byteLength }];
        }
        return { ETag: etag, ...(checksum ? { ChecksumCRC32: checksum } : {}) };
      }
      case 'HeadObjectCommand': {
        const segments = this.segmentsOf(input.Bucket, input.Key, 'NotFound');
        return { ContentLength: bytesOf(segments), ETag: this.etagOf(input.Bucket, input.Key) };
      }
      case 'CopyObjectCommand': {
        const source = parseCopySource(input.CopySource);
        const segments = this.segmentsOf(source.bucket, source.key);
        const size = bytesOf(segments);
        if (size > MAX_PART_BYTES) {
          throw s3Error('InvalidRequest', `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_PART_BYTES}`);
        }
        await this.place(input.Bucket, input.Key, async (target) => {
          await writeFile(target, '');
          for (const segment of segments) {
            if (segment.length > 0)
              await pipeline(createReadStream(segment.file, { start: segment.start, end: segment.start + segment.length - 1 }), createWriteStream(target, { flags: 'a' }));
          }
        });
        return { CopyObjectResult: { ETag: '"copy"' } };
      }
      case 'UploadPartCopyCommand': {
        const upload = this.upload(input.UploadId);
        const number = partNumber(input.PartNumber);
        const source = parseCopySource(input.CopySource);
        const whole = this.segmentsOf(source.bucket, source.key);
        const size = bytesOf(whole);
        if (input.CopySourceIfMatch !== undefined && input.CopySourceIfMatch !== this.etagOf(source.bucket, source.key)) {
          throw Object.assign(s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'), { $metadata: { httpStatusCode: 412 } });
        }
        const [first, last] = parseRange(input.CopySourceRange, size, 'InvalidArgument');
        const bytes = last - first + 1;
        if (bytes > MAX_PART_BYTES) throw s3Error('InvalidRequest', `The copied range of part ${number} has ${bytes} bytes; a part holds at most 5 GiB.`);
        const etag = `"copy-${number}-${randomUUID()}"`;
        upload.parts.set(number, { bytes, etag, segments: slice(whole, first, bytes) });
        return { CopyPartResult: { ETag: etag } };
      }
      case 'CompleteMultipartUploadCommand': {
        const upload = this.upload(input.UploadId);
        const listed = input.MultipartUpload?.Parts ?? [];
        if (listed.length === 0) throw s3Error('MalformedXML', 'CompleteMultipartUpload lists no parts.');
        if (listed.some((entry, index) => index > 0 && (entry.PartNumber ?? 0) <= (listed[index - 1]?.PartNumber ?? 0))) {
          throw s3Error('InvalidPartOrder', 'The parts are not listed in ascending order.');
        }
        const parts = listed.map((entry, index) => {
          const number = entry.PartNumber ?? 0;
          const part = upload.parts.get(number);
          if (!part || part.etag !== entry.ETag) throw s3Error('InvalidPart', `Part ${number} was not uploaded, or its ETag does not match.`);
          if (part.crc32 !== undefined && entry.ChecksumCRC32 !== part.crc32) throw s3Error('InvalidPart', `Part ${number} is listed without its CRC32 checksum, or with another.`);
          if (index < listed.length - 1 && part.bytes < MIN_PART_BYTES) {
            throw s3Error('EntityTooSmall', `Part ${number} has ${part.bytes} bytes; every part but the last needs at least 5 MiB.`);
          }
          return { number, part };
        });
        const total = parts.reduce((sum, { part }) => sum + part.bytes, 0);
        if (total > MAX_OBJECT_BYTES) throw s3Error('EntityTooLarge', `The object would have ${total} bytes; S3 holds at most 5 TiB.`);
        this.uploads.delete(input.UploadId ?? '');
        if (this.discards(upload.key)) {
          this.removeUpload(upload);
        } else if (parts.every(({ number, part }, index) => number === index + 1 && part.offset !== undefined) && parts.length === upload.parts.size) {
          // Parts 1 … n, all written in place: the upload's file is the object.
          await this.place(upload.bucket, upload.key, async (target) => rename(upload.file, target));
          upload.sideFiles.forEach((file) => rmSync(file, { force: true }));
        } else {
          // Some parts live elsewhere: the object is their segments in order; the upload's files stay as its data.
          const data = join(this.root, '.data', randomUUID());
          mkdirSync(dirname(data), { recursive: true });
          await rename(upload.file, data);
          const segments = parts.flatMap(({ part }) => part.segments ?? [{ file: data, start: part.offset ?? 0, length: part.bytes }]);
          this.removeObject(upload.bucket, upload.key);
          const sidecar = this.segmentsPath(upload.bucket, upload.key);
          mkdirSync(dirname(sidecar), { recursive: true });
          writeFileSync(sidecar, JSON.stringify(segments));
        }
        return { Location: upload.key, Key: upload.key, ETag: '"complete"' };
      }
      case 'AbortMultipartUploadCommand': {
        const upload = this.uploads.get(input.UploadId ?? '');
        if (!upload) throw s3Error('NoSuchUpload', 'The specified upload does not exist.');
        this.uploads.delete(input.UploadId ?? '');
        this.removeUpload(upload);
        return {};
      }
      case 'GetObjectCommand': {
        const segments = this.segmentsOf(input.Bucket, input.Key);
        const size = bytesOf(segments);
        if (input.Range === undefined) return { Body: read(segments), ContentLength: size };
        const [first, last] = parseRange(input.Range, size, 'InvalidRange');
        return { Body: read(slice(segments, first, last - first + 1)), ContentLength: last - first + 1, ContentRange: `bytes ${first}-${last}/${size}` };
      }
      case 'ListObjectsV2Command': {
        const after = input.ContinuationToken ?? input.StartAfter ?? '';
        const sorted = inByteOrder([...this.keys(input.Bucket).filter((key) => key.startsWith(input.Prefix ?? '')), after]);
        const keys = sorted.slice(sorted.lastIndexOf(after) + 1);
        const page = keys.slice(0, MAX_KEYS);
        const truncated = keys.length > MAX_KEYS;
        return {
          Contents: page.map((Key) => ({ Key, Size: bytesOf(this.segmentsOf(input.Bucket, Key)), ETag: this.etagOf(input.Bucket, Key) })),
          KeyCount: page.length,
          IsTruncated: truncated,
          ...(truncated ? { NextContinuationToken: page.at(-1) } : {}),
        };
      }
      case 'DeleteObjectsCommand': {
        const objects = (command.input as { Delete: { Objects: { Key: string }[] } }).Delete.Objects;
        for (const { Key } of objects) this.removeObject(input.Bucket, Key);
        return {};
      }
      default:
        throw new Error(`FileBackedS3 does not answer ${command.constructor.name}`);
    }
  }

  private upload(id: string | undefined): Upload {
    const upload = this.uploads.get(id ?? '');
    if (!upload) throw s3Error('NoSuchUpload', 'The specified upload does not exist.');
    return upload;
  }

  /**
   * Where part `number` goes in the upload's file: after parts 1 … number-1, when all of them are in it.
   * A part sent again goes elsewhere, since its new size could overlap the part after it.
   */
  private offsetOf(upload: Upload, number: number): number | undefined {
    if (upload.parts.has(number)) return undefined;
    let offset = 0;
    for (let n = 1; n < number; n += 1) {
      const part = upload.parts.get(n);
      if (part?.offset === undefined) return undefined;
      offset += part.bytes;
    }
    return offset;
  }

  private removeUpload(upload: Upload): void {
    rmSync(upload.file, { force: true });
    upload.sideFiles.forEach((file) => rmSync(file, { force: true }));
  }

  /** An object's ETag: it changes whenever the object is written again (its file's size and time). */
  private etagOf(bucket: string, key: string): string {
    const sidecar = this.segmentsPath(bucket, key);
    const stat = statSync(existsSync(sidecar) ? sidecar : this.path(bucket, key));
    return `"${createHash('md5').update(`${stat.size}:${stat.mtimeMs}:${stat.ino}`).digest('hex')}"`;
  }

  /** The object's bytes as segments: its file, or the segments it was completed from. */
  private segmentsOf(bucket: string, key: string, missing = 'NoSuchKey'): Segment[] {
    const sidecar = this.segmentsPath(bucket, key);
    if (existsSync(sidecar)) return JSON.parse(readFileSync(sidecar, 'utf8')) as Segment[];
    const file = this.path(bucket, key);
    if (!existsSync(file)) throw Object.assign(s3Error(missing, 'The specified key does not exist.'), { $metadata: { httpStatusCode: 404 } });
    return [{ file, start: 0, length: statSync(file).size }];
  }

  private keys(bucket: string): string[] {
    const plain = join(this.root, bucket);
    const segmented = join(this.root, '.segments', bucket);
    return [
      ...(existsSync(plain) ? readdirSync(plain).map((name) => decodeURIComponent(name)) : []),
      ...(existsSync(segmented) ? readdirSync(segmented).map((name) => decodeURIComponent(name.slice(0, -'.json'.length))) : []),
    ];
  }

  private removeObject(bucket: string, key: string): void {
    rmSync(this.path(bucket, key), { force: true });
    rmSync(this.segmentsPath(bucket, key), { force: true });
  }

  private async place(bucket: string, key: string, put: (target: string) => Promise<void>): Promise<void> {
    this.removeObject(bucket, key);
    const target = this.path(bucket, key);
    mkdirSync(dirname(target), { recursive: true });
    await put(target);
  }

  private discards(key: string): boolean {
    return this.discardPrefix !== undefined && key.startsWith(this.discardPrefix);
  }

  private async write(bucket: string, key: string, body: unknown): Promise<void> {
    if (this.discards(key)) {
      for await (const chunk of toReadable(body)) this.discarded += (chunk as Buffer).length;
      return;
    }
    await this.place(bucket, key, async (target) => {
      await writeFile(target, '');
      for await (const chunk of toReadable(body)) await appendFile(target, chunk as Buffer);
    });
  }

  /** Keys stored in a bucket (for tests). */
  list(bucket: string): string[] {
    return this.keys(bucket);
  }
}

/**
 * Keys in S3's order, UTF-8 bytes. JavaScript's own sort compares UTF-16 code units, which is the same
 * order unless a key holds characters beyond U+FFFF (surrogate pairs); only then are bytes compared.
 */
function inByteOrder(keys: string[]): string[] {
  if (!keys.some((key) => /[\uD800-\uDFFF]/.test(key))) return keys.sort();
  return keys
    .map((key) => ({ key, bytes: Buffer.from(key) }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map(({ key }) => key);
}

/** A part's CRC-32 as S3 reports it: the four big-endian bytes in base64. */
function crc32Base64(body: Uint8Array): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc32(body));
  return bytes.toString('base64');
}

function partNumber(value: number | undefined): number {
  if (value === undefined || !Number.isInteger(value) || value < 1 || value > MAX_PARTS) {
    throw s3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive (was ${value}).`);
  }
  return value;
}

function parseCopySource(source: string | undefined): { bucket: string; key: string } {
  const path = decodeURIComponent((source ?? '').replace(/^\//, ''));
  const slash = path.indexOf('/');
  if (slash < 1) throw s3Error('InvalidArgument', `Copy Source must mention the source bucket and key: ${source}`);
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

/** "bytes=first-last" (or "bytes=first-") of an object of `size` bytes, as S3 reads it. */
function parseRange(range: string | undefined, size: number, errorName: string): [number, number] {
  const match = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
  if (!match) throw s3Error(errorName, `The range "${range}" is not of the form bytes=first-last.`);
  const first = Number(match[1]);
  const last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (first > last || first >= size) throw s3Error(errorName, `The range "${range}" is not satisfiable for an object of ${size} bytes.`);
  if (errorName === 'InvalidArgument' && Number(match[2]) > size - 1) throw s3Error(errorName, `The range "${range}" ends past the object's ${size} bytes.`);
  return [first, last];
}

/** How many bytes `segments` hold. */
const bytesOf = (segments: Segment[]) => segments.reduce((sum, segment) => sum + segment.length, 0);

/** The `length` bytes from `first` on of an object made of `segments`. */
function slice(segments: Segment[], first: number, length: number): Segment[] {
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

function read(segments: Segment[]): Readable {
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

function toReadable(body: unknown): Readable {
  if (body instanceof Readable) return body;
  if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([Buffer.from(body)]);
  return Readable.from([]);
}
