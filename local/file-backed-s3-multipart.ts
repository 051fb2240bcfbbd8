// FileBackedS3's multipart uploads, held to S3's limits: parts written in place in the upload's file or
// beside it, parts copied as references to their source's bytes, and completion into one object.
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { open, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { bytesOf, MIB, parseCopySource, parseRange, s3Error, sliceSegments, type CommandInput, type ObjectFiles, type Segment } from './file-backed-s3-storage.ts';

const MIN_PART_BYTES = 5 * MIB;
export const MAX_PART_BYTES = 5 * 1024 * MIB;
const MAX_PARTS = 10_000;
const MAX_OBJECT_BYTES = 5 * 1024 * 1024 * MIB;

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

/** The keys whose bytes are counted and dropped rather than stored. */
export interface Discard {
  covers(key: string): boolean;
  count(bytes: number): void;
}

export class MultipartUploads {
  private readonly uploads = new Map<string, Upload>();

  constructor(
    private readonly objects: ObjectFiles,
    private readonly discard: Discard,
  ) {}

  /** Uploads started and neither completed nor aborted. */
  get open(): number {
    return this.uploads.size;
  }

  async create(input: CommandInput): Promise<unknown> {
    const id = randomUUID();
    const file = join(this.objects.root, '.uploads', id);
    mkdirSync(dirname(file), { recursive: true });
    await writeFile(file, '');
    if (input.ChecksumAlgorithm !== undefined && input.ChecksumAlgorithm !== 'CRC32')
      throw s3Error('InvalidRequest', `The stand-in knows only CRC32, not ${input.ChecksumAlgorithm}.`);
    this.uploads.set(id, { key: input.Key, bucket: input.Bucket, file, parts: new Map(), sideFiles: [], ...(input.ChecksumAlgorithm ? { checksum: 'CRC32' as const } : {}) });
    return { UploadId: id, Bucket: input.Bucket, Key: input.Key };
  }

  async uploadPart(input: CommandInput): Promise<unknown> {
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
    if (this.discard.covers(upload.key)) {
      this.discard.count(body.byteLength);
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

  uploadPartCopy(input: CommandInput): unknown {
    const upload = this.upload(input.UploadId);
    const number = partNumber(input.PartNumber);
    const source = parseCopySource(input.CopySource);
    const whole = this.objects.segmentsOf(source.bucket, source.key);
    const size = bytesOf(whole);
    if (input.CopySourceIfMatch !== undefined && input.CopySourceIfMatch !== this.objects.etagOf(source.bucket, source.key)) {
      throw Object.assign(s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'), { $metadata: { httpStatusCode: 412 } });
    }
    const [first, last] = parseRange(input.CopySourceRange, size, 'InvalidArgument');
    const bytes = last - first + 1;
    if (bytes > MAX_PART_BYTES) throw s3Error('InvalidRequest', `The copied range of part ${number} has ${bytes} bytes; a part holds at most 5 GiB.`);
    const etag = `"copy-${number}-${randomUUID()}"`;
    upload.parts.set(number, { bytes, etag, segments: sliceSegments(whole, first, bytes) });
    return { CopyPartResult: { ETag: etag } };
  }

  async complete(input: CommandInput): Promise<unknown> {
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
    if (this.discard.covers(upload.key)) {
      this.removeUpload(upload);
    } else if (parts.every(({ number, part }, index) => number === index + 1 && part.offset !== undefined) && parts.length === upload.parts.size) {
      // Parts 1 … n, all written in place: the upload's file is the object.
      await this.objects.place(upload.bucket, upload.key, async (target) => rename(upload.file, target));
      upload.sideFiles.forEach((file) => rmSync(file, { force: true }));
    } else {
      // Some parts live elsewhere: the object is their segments in order; the upload's files stay as its data.
      const data = join(this.objects.root, '.data', randomUUID());
      mkdirSync(dirname(data), { recursive: true });
      await rename(upload.file, data);
      const segments = parts.flatMap(({ part }) => part.segments ?? [{ file: data, start: part.offset ?? 0, length: part.bytes }]);
      this.objects.placeSegments(upload.bucket, upload.key, segments);
    }
    return { Location: upload.key, Key: upload.key, ETag: '"complete"' };
  }

  abort(input: CommandInput): unknown {
    const upload = this.upload(input.UploadId);
    this.uploads.delete(input.UploadId ?? '');
    this.removeUpload(upload);
    return {};
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
