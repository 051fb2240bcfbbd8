// A stand-in for S3 at sizes the emulator cannot take (gigabytes, tens of thousands of objects): objects
// are files under a folder, uploads stream to disk, and keys under a "discard" prefix are counted and
// dropped (an upload sink for the benchmark). Only the commands the collector and bundler send.
import type { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { appendFile, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';

type Command = { constructor: { name: string }; input: Record<string, unknown> };

export class FileBackedS3 {
  /** Bytes received under the discard prefix. */
  discarded = 0;
  /**
   * Multipart uploads in progress: parts are written straight into one file at their offsets, which a
   * completed upload renames into place. (Concatenating part files at completion cost the collect stage
   * a fifth of its measured time: S3's work, not ours.)
   */
  private readonly uploads = new Map<string, { key: string; bucket: string; file: string; firstPartBytes?: number }>();

  constructor(
    readonly root: string,
    private readonly discardPrefix?: string,
  ) {
    mkdirSync(root, { recursive: true });
  }

  /** Typed as the SDK client the handlers expect; it answers exactly the commands they send. */
  asClient(): S3Client {
    // lib-storage's Upload also reads a few settings off the client's config.
    const config = {
      requestHandler: undefined,
      forcePathStyle: true,
      requestChecksumCalculation: () => Promise.resolve('WHEN_REQUIRED'),
      endpoint: () => Promise.resolve({ protocol: 'file:', hostname: 'local', path: '/', port: undefined }),
    };
    return { send: (command: Command) => this.send(command), config } as unknown as S3Client;
  }

  path(bucket: string, key: string): string {
    return join(this.root, bucket, encodeURIComponent(key));
  }

  private async send(command: Command): Promise<unknown> {
    const input = command.input as { Bucket: string; Key: string; Body?: unknown; UploadId?: string; PartNumber?: number; Prefix?: string; ContinuationToken?: string };
    switch (command.constructor.name) {
      case 'PutObjectCommand':
        await this.write(input.Bucket, input.Key, input.Body);
        return { ETag: '"put"' };
      case 'CreateMultipartUploadCommand': {
        const id = randomUUID();
        const file = join(this.root, '.uploads', id);
        mkdirSync(dirname(file), { recursive: true });
        await writeFile(file, '');
        this.uploads.set(id, { key: input.Key, bucket: input.Bucket, file });
        return { UploadId: id, Bucket: input.Bucket, Key: input.Key };
      }
      case 'UploadPartCommand': {
        const upload = this.uploads.get(input.UploadId ?? '');
        if (!upload) throw Object.assign(new Error('No such upload'), { name: 'NoSuchUpload' });
        const body = input.Body as Uint8Array;
        const number = input.PartNumber ?? 0;
        // Every part but the last has the same size (lib-storage cuts them so), and part 1 is always sent
        // first: part n starts at (n - 1) × the size of part 1.
        if (number === 1) upload.firstPartBytes = body.byteLength;
        if (upload.firstPartBytes === undefined) throw new Error(`FileBackedS3 got part ${number} before part 1`);
        if (this.discards(upload.key)) {
          this.discarded += body.byteLength;
        } else {
          const file = await open(upload.file, 'r+');
          try {
            await file.write(body, 0, body.byteLength, (number - 1) * upload.firstPartBytes);
          } finally {
            await file.close();
          }
        }
        return { ETag: `"${number}"` };
      }
      case 'CompleteMultipartUploadCommand': {
        const upload = this.uploads.get(input.UploadId ?? '');
        if (!upload) throw Object.assign(new Error('No such upload'), { name: 'NoSuchUpload' });
        this.uploads.delete(input.UploadId ?? '');
        if (this.discards(upload.key)) await rm(upload.file, { force: true });
        else {
          const target = this.path(upload.bucket, upload.key);
          mkdirSync(dirname(target), { recursive: true });
          await rename(upload.file, target);
        }
        return { Location: upload.key, Key: upload.key, ETag: '"complete"' };
      }
      case 'AbortMultipartUploadCommand': {
        const upload = this.uploads.get(input.UploadId ?? '');
        if (upload) rmSync(upload.file, { force: true });
        this.uploads.delete(input.UploadId ?? '');
        return {};
      }
      case 'GetObjectCommand': {
        const file = this.path(input.Bucket, input.Key);
        if (!existsSync(file)) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
        return { Body: createReadStream(file, { highWaterMark: 1024 * 1024 }), ContentLength: statSync(file).size };
      }
      case 'ListObjectsV2Command': {
        const folder = join(this.root, input.Bucket);
        const keys = existsSync(folder)
          ? readdirSync(folder)
              .map((name) => decodeURIComponent(name))
              .filter((key) => key.startsWith(input.Prefix ?? ''))
          : [];
        return { Contents: keys.map((Key) => ({ Key, Size: statSync(this.path(input.Bucket, Key)).size })), KeyCount: keys.length, IsTruncated: false };
      }
      case 'DeleteObjectsCommand': {
        const objects = (command.input as { Delete: { Objects: { Key: string }[] } }).Delete.Objects;
        for (const { Key } of objects) rmSync(this.path(input.Bucket, Key), { force: true });
        return {};
      }
      default:
        throw new Error(`FileBackedS3 does not answer ${command.constructor.name}`);
    }
  }

  private discards(key: string): boolean {
    return this.discardPrefix !== undefined && key.startsWith(this.discardPrefix);
  }

  private async write(bucket: string, key: string, body: unknown): Promise<void> {
    if (this.discards(key)) {
      for await (const chunk of toReadable(body)) this.discarded += (chunk as Buffer).length;
      return;
    }
    const target = this.path(bucket, key);
    mkdirSync(dirname(target), { recursive: true });
    await writeFile(target, '');
    for await (const chunk of toReadable(body)) await appendFile(target, chunk as Buffer);
  }

  /** Relative paths of what is stored (for tests). */
  list(bucket: string): string[] {
    const folder = join(this.root, bucket);
    return existsSync(folder) ? readdirSync(folder).map((name) => relative(folder, join(folder, decodeURIComponent(name)))) : [];
  }
}

function toReadable(body: unknown): Readable {
  if (body instanceof Readable) return body;
  if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([Buffer.from(body)]);
  return Readable.from([]);
}
