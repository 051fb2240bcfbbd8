// The embedded S3 (s3rver) keeps folders as directories and removes one when a delete empties it. The
// workflow meets that: a failing source's cleanup deletes staging while another source's collector
// still writes its last part. Before local/emulators.ts made puts and deletes take turns, the put's
// file open failed with nobody listening and the uncaught exception ended the whole process.
import { CopyObjectCommand, CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { encodeCopySourceKey } from '../../lambdas/core/collect/connectors/s3/collector.ts';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulators, type Emulators } from '../../local/emulators.ts';

let emulators: Emulators;
let s3: S3Client;
const Bucket = 'folder-race';

beforeAll(async () => {
  emulators = await startEmulators();
  s3 = new S3Client({
    endpoint: emulators.endpoints.s3,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  await s3.send(new CreateBucketCommand({ Bucket }));
});

afterAll(async () => {
  s3?.destroy();
  await emulators?.close();
});

describe('the embedded S3', () => {
  it('keeps every put when a delete empties the same folder at the same moment', async () => {
    // Each round: a folder holding one object, then that object deleted while a second one is put
    // beside it. Without the turns, about half of 300 rounds crashed the process.
    const rounds = 300;
    for (let round = 0; round < rounds; round++) {
      const folder = `staging/${round}/profile/`;
      await s3.send(new PutObjectCommand({ Bucket, Key: `${folder}part-00000.json`, Body: 'records' }));
      await Promise.all([
        s3.send(new DeleteObjectCommand({ Bucket, Key: `${folder}part-00000.json` })),
        s3.send(new PutObjectCommand({ Bucket, Key: `${folder}part-00000.columns.json`, Body: `["round ${round}"]` })),
      ]);
    }
    for (const round of [0, rounds / 2, rounds - 1]) {
      const object = await s3.send(new GetObjectCommand({ Bucket, Key: `staging/${round}/profile/part-00000.columns.json` }));
      expect(await object.Body?.transformToString()).toBe(`["round ${round}"]`);
      expect(object.ETag).toBe(`"${createMd5(`["round ${round}"]`)}"`);
    }
  }, 60_000);
});

function createMd5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

describe('the embedded S3 as S3 answers', () => {
  it('lists past 1,000 keys with continuation tokens, every key once, in byte order', async () => {
    const keys = Array.from({ length: 1500 }, (_, i) => `many/${String(i).padStart(4, '0')}-${i % 3 === 0 ? 'é' : 'e'}.txt`);
    for (let at = 0; at < keys.length; at += 50) await Promise.all(keys.slice(at, at + 50).map((Key) => s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }))));
    const listed: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'many/', ContinuationToken: token }));
      listed.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      pages += 1;
    } while (token);
    expect(pages).toBe(2);
    expect(listed).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });

  it('copies a key holding every character S3 allows, "? # & ; , + = $" included', async () => {
    const Key = 'odd/a?b#c&d;e,f+g=h$i:j@k l%m.txt';
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'odd' }));
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'copied/odd.txt', CopySource: `${Bucket}/${encodeCopySourceKey(Key)}` }));
    const copied = await s3.send(new GetObjectCommand({ Bucket, Key: 'copied/odd.txt' }));
    expect(await copied.Body?.transformToString()).toBe('odd');
  });
});
