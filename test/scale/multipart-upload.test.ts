// The multipart writer against the file-backed S3 stand-in, which holds it to S3's rules: parts grow
// with the object so that one upload reaches S3's 5 TiB object limit within its 10,000 parts, instead of
// stopping at 48.8 GiB as fixed 5 MiB parts do. The 5 TiB upload is counted, not written: the stand-in
// discards what it is sent under its discard prefix, and the body is views of one buffer that is
// allocated but never touched.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  capacityOf,
  MIB,
  ObjectTooLargeError,
  partBytes,
  S3_MAX_OBJECT_BYTES,
  S3_MAX_PART_BYTES,
  S3_MAX_PARTS,
  S3_MIN_PART_BYTES,
  uploadObject,
} from '../../lambdas/core/storage/multipart-upload.ts';
import { FileBackedS3 } from '../../local/file-backed-s3.ts';

const BUCKET = 'exports';
const folders: string[] = [];
function store(discard?: string): FileBackedS3 {
  const folder = mkdtempSync(join(tmpdir(), 'multipart-'));
  folders.push(folder);
  return new FileBackedS3(folder, discard);
}
afterAll(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })));

async function bodyOf(s3: S3Client, key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of object.Body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('part sizes', () => {
  it('stay within S3 limits and give 10,000 parts room for a 5 TiB object', () => {
    for (const n of [1, 1000, 1001, 5000, S3_MAX_PARTS]) {
      expect(partBytes(n)).toBeGreaterThanOrEqual(S3_MIN_PART_BYTES);
      expect(partBytes(n)).toBeLessThanOrEqual(S3_MAX_PART_BYTES);
      expect(Number.isInteger(partBytes(n))).toBe(true);
    }
    expect(capacityOf(S3_MAX_PARTS)).toBeGreaterThanOrEqual(S3_MAX_OBJECT_BYTES);
    // Fixed 5 MiB parts would stop here:
    expect(S3_MAX_PARTS * S3_MIN_PART_BYTES).toBeLessThan(49 * 1024 * MIB);
    // The first 5 GiB go in parts of about 5 MiB, so an ordinary export holds little memory.
    expect(capacityOf(1000)).toBeGreaterThan(5 * 1024 * MIB);
  });
});

describe('uploadObject', () => {
  it('streams chunks of any size into parts that reassemble byte for byte', async () => {
    const s3 = store();
    const data = randomBytes(23 * MIB + 12345);
    const chunks: Buffer[] = [];
    for (let at = 0; at < data.length;) {
      const size = Math.min(data.length - at, 1 + Math.floor(Math.random() * 3 * MIB));
      chunks.push(data.subarray(at, at + size));
      at += size;
    }
    const bytes = await uploadObject(s3.asClient(), { Bucket: BUCKET, Key: 'archives/a.zip' }, Readable.from(chunks));
    expect(bytes).toBe(data.length);
    expect(sha256(await bodyOf(s3.asClient(), 'archives/a.zip'))).toBe(sha256(data));
    const parts = s3.calls.filter((c) => c.name === 'UploadPartCommand');
    expect(parts).toHaveLength(Math.ceil(data.length / partBytes(1)));
    expect(s3.openUploads).toBe(0);
  });

  it('declares CRC-32 checksums when the client computes them (the SDK default) and lists each part’s at completion', async () => {
    const s3 = new FileBackedS3(store().root, undefined, { checksums: true });
    const data = randomBytes(3 * partBytes(1) + 17);
    await uploadObject(s3.asClient(), { Bucket: BUCKET, Key: 'checked' }, Readable.from([data]));
    expect(sha256(await bodyOf(s3.asClient(), 'checked'))).toBe(sha256(data));
    expect(s3.calls.filter((c) => c.name === 'UploadPartCommand')).toHaveLength(4);
  });

  it('sends a body of at most one part as one PutObject', async () => {
    const s3 = store();
    const data = randomBytes(partBytes(1));
    await uploadObject(s3.asClient(), { Bucket: BUCKET, Key: 'one' }, Readable.from([data]));
    expect(s3.calls.map((c) => c.name)).toEqual(['PutObjectCommand']);
    expect(sha256(await bodyOf(s3.asClient(), 'one'))).toBe(sha256(data));
    await uploadObject(s3.asClient(), { Bucket: BUCKET, Key: 'empty' }, Readable.from([]));
    expect((await bodyOf(s3.asClient(), 'empty')).length).toBe(0);
  });

  it('writes a 5 TiB object in fewer than 10,000 growing parts, and refuses one byte more', async () => {
    const s3 = store('big/');
    const largest = partBytes(S3_MAX_PARTS);
    const buffer = Buffer.allocUnsafeSlow(largest); // never touched: the stand-in only counts views of it
    const chunks = function* (total: number) {
      let sent = 0;
      for (let n = 1; sent < total; n += 1) {
        const size = Math.min(partBytes(n), total - sent);
        sent += size;
        yield buffer.subarray(0, size);
      }
    };
    const bytes = await uploadObject(s3.asClient(), { Bucket: BUCKET, Key: 'big/5tib' }, chunks(S3_MAX_OBJECT_BYTES));
    expect(bytes).toBe(S3_MAX_OBJECT_BYTES);
    expect(s3.discarded).toBe(S3_MAX_OBJECT_BYTES);
    const parts = s3.calls.filter((c) => c.name === 'UploadPartCommand').length;
    expect(parts).toBeGreaterThan(9000);
    expect(parts).toBeLessThanOrEqual(S3_MAX_PARTS);
    expect(s3.calls.at(-1)?.name).toBe('CompleteMultipartUploadCommand');

    await expect(uploadObject(s3.asClient(), { Bucket: BUCKET, Key: 'big/too-big' }, chunks(S3_MAX_OBJECT_BYTES + 1))).rejects.toThrow(ObjectTooLargeError);
    expect(s3.calls.at(-1)?.name).toBe('AbortMultipartUploadCommand');
    expect(s3.openUploads).toBe(0);
  });

  it('aborts the upload when a part fails, and reports the part’s error', async () => {
    const s3 = store();
    const client = s3.asClient();
    const send = client.send.bind(client);
    let parts = 0;
    (client as { send: unknown }).send = (command: { constructor: { name: string } }) => {
      if (command.constructor.name === 'UploadPartCommand' && ++parts === 2)
        return Promise.reject(Object.assign(new Error('We encountered an internal error.'), { name: 'InternalError' }));
      return send(command as never);
    };
    const data = randomBytes(4 * partBytes(1));
    await expect(uploadObject(client, { Bucket: BUCKET, Key: 'fails' }, Readable.from([data]))).rejects.toThrow('internal error');
    expect(s3.calls.at(-1)?.name).toBe('AbortMultipartUploadCommand');
    expect(s3.openUploads).toBe(0);
    expect(s3.list(BUCKET)).not.toContain('fails');
  });
});

describe('the S3 stand-in holds uploads to S3’s rules', () => {
  const start = async (s3: S3Client) => (await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'k' }))).UploadId as string;
  const part = (s3: S3Client, UploadId: string, PartNumber: number, bytes: number) =>
    s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'k', UploadId, PartNumber, Body: Buffer.alloc(bytes, PartNumber) }));

  it('refuses a small part before the last, parts out of order, an unknown ETag and part 10,001', async () => {
    const s3 = store().asClient();
    const id = await start(s3);
    const one = await part(s3, id, 1, MIB);
    const two = await part(s3, id, 2, MIB);
    const complete = (Parts: { PartNumber: number; ETag?: string }[]) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'k', UploadId: id, MultipartUpload: { Parts } }));
    await expect(
      complete([
        { PartNumber: 1, ETag: one.ETag },
        { PartNumber: 2, ETag: two.ETag },
      ]),
    ).rejects.toMatchObject({ name: 'EntityTooSmall' });
    await expect(
      complete([
        { PartNumber: 2, ETag: two.ETag },
        { PartNumber: 1, ETag: one.ETag },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidPartOrder' });
    await expect(complete([{ PartNumber: 1, ETag: '"other"' }])).rejects.toMatchObject({ name: 'InvalidPart' });
    await expect(part(s3, id, S3_MAX_PARTS + 1, 1)).rejects.toMatchObject({ name: 'InvalidArgument' });
  });

  it('assembles parts sent out of order and parts sent twice', async () => {
    const s3 = store().asClient();
    const id = await start(s3);
    const three = await part(s3, id, 3, 100);
    const one = await part(s3, id, 1, 5 * MIB);
    await part(s3, id, 2, 5 * MIB);
    const two = await part(s3, id, 2, 6 * MIB);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'k',
        UploadId: id,
        MultipartUpload: { Parts: [1, 2, 3].map((n) => ({ PartNumber: n, ETag: [one, two, three][n - 1]?.ETag })) },
      }),
    );
    const body = await bodyOf(s3, 'k');
    expect(body.length).toBe(11 * MIB + 100);
    expect([body[0], body[5 * MIB], body[11 * MIB - 1], body[11 * MIB]]).toEqual([1, 2, 2, 3]);
  });
});
