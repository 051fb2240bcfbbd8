// Writing to the export bucket: streamed uploads with SSE-KMS and backpressure (a slow upload pauses the
// producer instead of letting buffers grow; multipart-upload.ts says how parts grow with the object), and
// removal of an export's staging objects.
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { ArchiveWriteError, CleanupError } from '../platform/errors.ts';
import { FailureLatch } from '../platform/failure-latch.ts';
import { uploadObject } from './multipart-upload.ts';
import { archivePrefix, stagingPrefix } from './object-keys.ts';

export interface ExportBucket {
  s3: S3Client;
  bucket: string;
  /** Customer-managed key the bucket policy requires on every put. */
  kmsKeyId: string;
}

export interface UploadOptions {
  contentType: string;
  contentDisposition?: string;
}

/** Uploads a stream to the export bucket with SSE-KMS; on failure the multipart upload is aborted. Returns its bytes. */
export async function uploadStream(target: ExportBucket, key: string, body: Readable, options: UploadOptions): Promise<number> {
  try {
    return await uploadObject(
      target.s3,
      {
        Bucket: target.bucket,
        Key: key,
        ContentType: options.contentType,
        ContentDisposition: options.contentDisposition,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: target.kmsKeyId,
      },
      body,
    );
  } catch (error) {
    body.destroy();
    throw new ArchiveWriteError(`Could not write ${key} to the export bucket: ${(error as Error).message}`, { cause: error });
  }
}

/** Reads a small JSON object of the export bucket whole (a column list, a saved progress, copied ETags). */
export async function readJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of object.Body as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
}

/** Writes a small object to the export bucket in one request, with SSE-KMS. */
export async function putObject(target: ExportBucket, key: string, body: string, contentType: string): Promise<void> {
  try {
    await target.s3.send(
      new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: body, ContentType: contentType, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: target.kmsKeyId }),
    );
  } catch (error) {
    throw new ArchiveWriteError(`Could not write ${key} to the export bucket: ${(error as Error).message}`, { cause: error });
  }
}

export class StagingWriter {
  // Object mode hands each written buffer to the upload as it is; a byte stream would first copy queued
  // buffers into one. Four chunks of about a Query page each are buffered at most.
  private readonly body = new PassThrough({ objectMode: true, highWaterMark: 4 });
  private readonly done: Promise<number>;
  private readonly failure: FailureLatch;
  bytes = 0;

  constructor(target: ExportBucket, key: string, contentType = 'application/x-ndjson') {
    this.done = uploadStream(target, key, this.body, { contentType });
    this.failure = new FailureLatch(this.done);
  }

  async write(text: string): Promise<void> {
    if (this.failure.error) throw this.failure.error;
    const chunk = Buffer.from(text, 'utf8');
    this.bytes += chunk.length;
    if (!this.body.write(chunk)) await this.failure.guard(once(this.body, 'drain'));
  }

  async close(): Promise<number> {
    this.body.end();
    await this.done;
    return this.bytes;
  }
}

/**
 * Deletes keys of the export bucket and fails unless every one is gone. DeleteObjects answers 200 even
 * when it refused some keys (each is authorized as s3:DeleteObject on its own), listing them in Errors.
 */
export async function deleteObjects(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (let start = 0; start < keys.length; start += DELETE_BATCH) {
    const batch = keys.slice(start, start + DELETE_BATCH);
    const result = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    const refused = result.Errors ?? [];
    if (refused.length > 0) {
      const first = refused[0];
      throw new CleanupError(
        `${refused.length} of ${batch.length} objects could not be deleted from the export bucket, first ${first?.Key ?? '?'} (${first?.Code ?? 'unknown'}: ${first?.Message ?? ''}).`,
      );
    }
  }
}

/** DeleteObjects takes at most 1,000 keys. */
const DELETE_BATCH = 1000;

/** Removes every staging object of an export (parts and copied files). Safe to call twice. */
export function deleteStaging(s3: S3Client, bucket: string, exportId: string): Promise<number> {
  return deletePrefix(s3, bucket, stagingPrefix(exportId));
}

/**
 * Removes what an export that failed or was cancelled left of its archive: parts that earlier
 * BundleArchive calls finished before the one that failed. Safe to call twice.
 */
export function deleteArchive(s3: S3Client, bucket: string, exportId: string): Promise<number> {
  return deletePrefix(s3, bucket, archivePrefix(exportId));
}

async function deletePrefix(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let deleted = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    const keys = (page.Contents ?? []).map((o) => o.Key ?? '');
    await deleteObjects(s3, bucket, keys);
    deleted += keys.length;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return deleted;
}
