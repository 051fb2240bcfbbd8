// Streams text into one S3 object through a multipart upload, with backpressure: a slow upload pauses
// the producer instead of letting buffers grow. Memory is bounded by partSize × queueSize.
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { ArchiveWriteError } from './errors.ts';

export interface ExportBucket {
  s3: S3Client;
  bucket: string;
  /** Customer-managed key the bucket policy requires on every put. */
  kmsKeyId: string;
}

export interface UploadOptions {
  contentType: string;
  contentDisposition?: string;
  partSize?: number;
  queueSize?: number;
}

/** Uploads a stream to the export bucket with SSE-KMS; on failure the multipart upload is aborted. */
export async function uploadStream(target: ExportBucket, key: string, body: Readable, options: UploadOptions): Promise<void> {
  const upload = new Upload({
    client: target.s3,
    params: {
      Bucket: target.bucket,
      Key: key,
      Body: body,
      ContentType: options.contentType,
      ContentDisposition: options.contentDisposition,
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: target.kmsKeyId,
    },
    partSize: options.partSize ?? 8 * 1024 * 1024,
    queueSize: options.queueSize ?? 4,
    leavePartsOnError: false,
  });
  try {
    await upload.done();
  } catch (error) {
    body.destroy();
    throw new ArchiveWriteError(`Could not write ${key} to the export bucket: ${(error as Error).message}`, { cause: error });
  }
}

export class StagingWriter {
  private readonly body = new PassThrough({ highWaterMark: 1024 * 1024 });
  private readonly done: Promise<void>;
  private failure: Error | undefined;
  bytes = 0;

  constructor(target: ExportBucket, key: string, contentType = 'application/x-ndjson') {
    this.done = uploadStream(target, key, this.body, { contentType });
    this.done.catch((error: unknown) => (this.failure = error instanceof Error ? error : new Error(String(error))));
  }

  async write(text: string): Promise<void> {
    if (this.failure) throw this.failure;
    const chunk = Buffer.from(text, 'utf8');
    this.bytes += chunk.length;
    if (!this.body.write(chunk)) await Promise.race([once(this.body, 'drain'), this.done]);
  }

  async close(): Promise<number> {
    this.body.end();
    await this.done;
    return this.bytes;
  }
}
