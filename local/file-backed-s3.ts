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
//
// This file answers the commands and keeps the object commands; file-backed-s3-multipart.ts holds the
// multipart uploads, file-backed-s3-storage.ts the files on disk.
import type { S3Client } from '@aws-sdk/client-s3';
import { createReadStream, createWriteStream, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MAX_PART_BYTES, MultipartUploads } from './file-backed-s3-multipart.ts';
import { bytesOf, ObjectFiles, parseCopySource, parseRange, s3Error, sliceSegments, streamSegments, type CommandInput } from './file-backed-s3-storage.ts';

type Command = { constructor: { name: string }; input: Record<string, unknown> };

const MAX_KEYS = 1000;

export class FileBackedS3 {
  /** Bytes received under the discard prefix. */
  discarded = 0;
  /** Every command answered, by name (for tests that assert how an object was written). */
  readonly calls: { name: string; bucket?: string; key?: string; range?: string }[] = [];
  private readonly objects: ObjectFiles;
  private readonly multipart: MultipartUploads;

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
    this.objects = new ObjectFiles(root);
    this.multipart = new MultipartUploads(this.objects, {
      covers: (key) => this.discards(key),
      count: (bytes) => {
        this.discarded += bytes;
      },
    });
  }

  /** Typed as the SDK client the handlers expect; it answers exactly the commands they send. */
  asClient(): S3Client {
    // The multipart writer reads the checksum setting off the client's config.
    const config = { requestChecksumCalculation: () => Promise.resolve(this.options.checksums ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED') };
    return { send: (command: Command) => this.send(command), config } as unknown as S3Client;
  }

  /** The file of a stored object that is one file (not an object made of copied parts). */
  path(bucket: string, key: string): string {
    return this.objects.path(bucket, key);
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
    return this.multipart.open;
  }

  private async send(command: Command): Promise<unknown> {
    const input = command.input as CommandInput;
    this.calls.push({ name: command.constructor.name, bucket: input.Bucket, key: input.Key, range: input.CopySourceRange ?? input.Range });
    switch (command.constructor.name) {
      case 'PutObjectCommand':
        await this.write(input.Bucket, input.Key, input.Body);
        return { ETag: '"put"' };
      case 'CreateMultipartUploadCommand':
        return this.multipart.create(input);
      case 'UploadPartCommand':
        return this.multipart.uploadPart(input);
      case 'HeadObjectCommand': {
        const segments = this.objects.segmentsOf(input.Bucket, input.Key, 'NotFound');
        return { ContentLength: bytesOf(segments), ETag: this.objects.etagOf(input.Bucket, input.Key) };
      }
      case 'CopyObjectCommand': {
        const source = parseCopySource(input.CopySource);
        const segments = this.objects.segmentsOf(source.bucket, source.key);
        const size = bytesOf(segments);
        if (size > MAX_PART_BYTES) {
          throw s3Error('InvalidRequest', `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_PART_BYTES}`);
        }
        await this.objects.place(input.Bucket, input.Key, async (target) => {
          await writeFile(target, '');
          for (const segment of segments) {
            if (segment.length > 0)
              await pipeline(createReadStream(segment.file, { start: segment.start, end: segment.start + segment.length - 1 }), createWriteStream(target, { flags: 'a' }));
          }
        });
        return { CopyObjectResult: { ETag: '"copy"' } };
      }
      case 'UploadPartCopyCommand':
        return this.multipart.uploadPartCopy(input);
      case 'CompleteMultipartUploadCommand':
        return this.multipart.complete(input);
      case 'AbortMultipartUploadCommand':
        return this.multipart.abort(input);
      case 'GetObjectCommand': {
        const segments = this.objects.segmentsOf(input.Bucket, input.Key);
        const size = bytesOf(segments);
        if (input.Range === undefined) return { Body: streamSegments(segments), ContentLength: size };
        const [first, last] = parseRange(input.Range, size, 'InvalidRange');
        return { Body: streamSegments(sliceSegments(segments, first, last - first + 1)), ContentLength: last - first + 1, ContentRange: `bytes ${first}-${last}/${size}` };
      }
      case 'ListObjectsV2Command': {
        const after = input.ContinuationToken ?? input.StartAfter ?? '';
        const sorted = inByteOrder([...this.objects.keys(input.Bucket).filter((key) => key.startsWith(input.Prefix ?? '')), after]);
        const keys = sorted.slice(sorted.lastIndexOf(after) + 1);
        const page = keys.slice(0, MAX_KEYS);
        const truncated = keys.length > MAX_KEYS;
        return {
          Contents: page.map((Key) => ({ Key, Size: bytesOf(this.objects.segmentsOf(input.Bucket, Key)), ETag: this.objects.etagOf(input.Bucket, Key) })),
          KeyCount: page.length,
          IsTruncated: truncated,
          ...(truncated ? { NextContinuationToken: page.at(-1) } : {}),
        };
      }
      case 'DeleteObjectsCommand': {
        const objects = (command.input as { Delete: { Objects: { Key: string }[] } }).Delete.Objects;
        for (const { Key } of objects) this.objects.remove(input.Bucket, Key);
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
    await this.objects.place(bucket, key, async (target) => {
      await writeFile(target, '');
      for await (const chunk of toReadable(body)) await appendFile(target, chunk as Buffer);
    });
  }

  /** Keys stored in a bucket (for tests). */
  list(bucket: string): string[] {
    return this.objects.keys(bucket);
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

function toReadable(body: unknown): Readable {
  if (body instanceof Readable) return body;
  if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([Buffer.from(body)]);
  return Readable.from([]);
}
