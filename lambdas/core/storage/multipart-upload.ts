// Streaming an object of any size S3 takes into the export bucket: parts that grow with the object.
//
// S3 allows at most 10,000 parts per upload, each 5 MiB to 5 GiB (the last may be smaller), and objects
// up to 5 TiB. Fixed 5 MiB parts (lib-storage's partSize) stop an object at 48.8 GiB, which a heavy
// user's archive reaches. Parts here start small, so memory stays small for the usual export, and
// double every 1,000 parts, so 10,000 parts hold more than 5 TiB. Memory held by an upload is about
// four parts of the current size: PARTS_IN_FLIGHT being sent, one cut and waiting for a slot, and the
// bytes gathering for the next (4 × 5.25 MiB for the first 5.1 GiB of an object, 4 × 10.5 MiB up to
// 15.4 GiB, and so on; 4 × 84 MiB past 79 GiB, more than one Lambda call writes).
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';

export const MIB = 1024 * 1024;
/** S3's limits for one multipart upload. */
export const S3_MIN_PART_BYTES = 5 * MIB;
export const S3_MAX_PART_BYTES = 5 * 1024 * MIB;
export const S3_MAX_PARTS = 10_000;
export const S3_MAX_OBJECT_BYTES = 5 * 1024 * 1024 * MIB;

/** The first tier's part size: 1,000 × (1 + 2 + … + 512) = 1,023,000 of these must exceed 5 TiB. */
const FIRST_PART_BYTES = 5.25 * MIB;
const PARTS_PER_TIER = 1000;

/** Parts being sent at once; the producer waits while they are (backpressure, bounded memory). */
export const PARTS_IN_FLIGHT = 2;

/** The size of part `partNumber` (1-based) of an upload, the last part excepted, which may be shorter. */
export function partBytes(partNumber: number): number {
  return FIRST_PART_BYTES * 2 ** Math.floor((partNumber - 1) / PARTS_PER_TIER);
}

/** The most bytes parts 1 … `parts` hold. */
export function capacityOf(parts: number): number {
  let total = 0;
  for (let tier = 0; tier * PARTS_PER_TIER < parts; tier += 1) total += Math.min(PARTS_PER_TIER, parts - tier * PARTS_PER_TIER) * FIRST_PART_BYTES * 2 ** tier;
  return total;
}

export interface ObjectParams {
  Bucket: string;
  Key: string;
  ContentType?: string;
  ContentDisposition?: string;
  ServerSideEncryption?: 'aws:kms';
  SSEKMSKeyId?: string;
}

export class ObjectTooLargeError extends Error {
  override name = 'ObjectTooLargeError';
}

/**
 * Streams `body` to one S3 object. A body that fits in the first part is one PutObject; anything larger
 * is a multipart upload whose parts follow partBytes(), aborted (so no parts are billed) if anything
 * fails. The body may yield Buffers of any size; a chunk is cut where a part ends, and copied only when
 * a part is made of more than one chunk.
 */
export async function uploadObject(s3: S3Client, params: ObjectParams, body: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number> {
  const upload = new PartedUpload(s3, params);
  try {
    for await (const chunk of body) await upload.add(chunk as Uint8Array);
    return await upload.finish();
  } catch (error) {
    await upload.abort(error as Error);
    throw error;
  }
}

class PartedUpload {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private partNumber = 1;
  private total = 0;
  private uploadId: string | undefined;
  private checksums = false;
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight: Promise<void>[] = [];

  constructor(
    private readonly s3: S3Client,
    private readonly params: ObjectParams,
  ) {}

  async add(chunk: Uint8Array): Promise<void> {
    if (chunk.byteLength === 0) return;
    this.total += chunk.byteLength;
    if (this.total > S3_MAX_OBJECT_BYTES) {
      throw new ObjectTooLargeError(`${this.params.Key} would pass S3's largest object, 5 TiB (${S3_MAX_OBJECT_BYTES} bytes).`);
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    // A part is sent only once more bytes follow it: a body that ends exactly at a part's end is then
    // sent as its last part, and a body of at most one part as a single PutObject.
    while (this.pendingBytes > partBytes(this.partNumber)) await this.sendPart(this.take(partBytes(this.partNumber)));
  }

  async finish(): Promise<number> {
    const rest = this.take(this.pendingBytes);
    if (this.uploadId === undefined) {
      await this.s3.send(new PutObjectCommand({ ...this.params, Body: rest, ContentLength: rest.byteLength }));
      return this.total;
    }
    await this.sendPart(rest);
    await Promise.all(this.inFlight);
    this.parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: this.params.Bucket, Key: this.params.Key, UploadId: this.uploadId, MultipartUpload: { Parts: this.parts } }));
    this.uploadId = undefined;
    return this.total;
  }

  /** Abandons the upload: S3 frees the parts already sent. A failing abort is added to the error as its cause. */
  async abort(error: Error): Promise<void> {
    await Promise.allSettled(this.inFlight);
    if (this.uploadId === undefined) return;
    const uploadId = this.uploadId;
    this.uploadId = undefined;
    try {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.params.Bucket, Key: this.params.Key, UploadId: uploadId }));
    } catch (abortError) {
      if (error.cause === undefined) error.cause = abortError;
    }
  }

  /** The first `bytes` pending bytes as one buffer (the chunk itself when one chunk is exactly the part). */
  private take(bytes: number): Uint8Array {
    if (this.pending.length > 0 && this.pending[0]?.byteLength === bytes) {
      this.pendingBytes -= bytes;
      return this.pending.shift() as Uint8Array;
    }
    const out = Buffer.allocUnsafeSlow(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.pending[0] as Uint8Array;
      const used = Math.min(chunk.byteLength, bytes - filled);
      out.set(used === chunk.byteLength ? chunk : chunk.subarray(0, used), filled);
      filled += used;
      if (used === chunk.byteLength) this.pending.shift();
      else this.pending[0] = chunk.subarray(used);
    }
    this.pendingBytes -= bytes;
    return out;
  }

  private async sendPart(data: Uint8Array): Promise<void> {
    if (this.partNumber > S3_MAX_PARTS) throw new ObjectTooLargeError(`${this.params.Key} would need more than S3's ${S3_MAX_PARTS} parts.`);
    if (this.uploadId === undefined) {
      // With the SDK's default checksums (WHEN_SUPPORTED) every part carries a CRC-32, and S3 then wants
      // the upload declared with that algorithm and each part's checksum listed at completion.
      this.checksums = (await this.s3.config.requestChecksumCalculation?.()) === 'WHEN_SUPPORTED';
      const created = await this.s3.send(new CreateMultipartUploadCommand({ ...this.params, ...(this.checksums ? { ChecksumAlgorithm: 'CRC32' } : {}) }));
      if (!created.UploadId) throw new Error(`S3 started no multipart upload for ${this.params.Key}.`);
      this.uploadId = created.UploadId;
    }
    const PartNumber = this.partNumber;
    this.partNumber += 1;
    if (this.inFlight.length >= PARTS_IN_FLIGHT) await this.inFlight.shift();
    const sent = this.s3
      .send(
        new UploadPartCommand({
          Bucket: this.params.Bucket,
          Key: this.params.Key,
          UploadId: this.uploadId,
          PartNumber,
          Body: data,
          ContentLength: data.byteLength,
          ...(this.checksums ? { ChecksumAlgorithm: 'CRC32' } : {}),
        }),
      )
      .then((result) => {
        if (!result.ETag) throw new Error(`S3 returned no ETag for part ${PartNumber} of ${this.params.Key}.`);
        this.parts.push({ PartNumber, ETag: result.ETag, ...(result.ChecksumCRC32 ? { ChecksumCRC32: result.ChecksumCRC32 } : {}) });
      });
    // Awaited in turn above, in finish() or in abort(); a failure must not go unhandled meanwhile.
    sent.catch(() => undefined);
    this.inFlight.push(sent);
  }
}
