// Objects CopyObject cannot copy (over 5 GiB) are copied inside S3 part by part with UploadPartCopy,
// never streamed through the function, and a copy longer than one call's time budget goes on in the
// next call. Against the file-backed S3 stand-in, which holds the copy to S3's rules (part sizes,
// ranges inside the source, ETags at completion); the 6 GiB object is a sparse file, so nothing is
// written. The job store is a fixed RUNNING job: the job's lifecycle is not what is measured here.
import { systemClock } from '../../lambdas/core/platform/clock.ts';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { SOURCE_COLLECTORS } from '../../lambdas/core/collect/source-collectors.ts';
import { collectSource, type CollectDeps, type CollectRequest } from '../../lambdas/core/collect/collect-source.ts';
import { parseDataMap } from '../../lambdas/core/data-map/data-map.ts';
import type { JobStore } from '../../lambdas/core/jobs/job-store.ts';
import { MIB } from '../../lambdas/core/storage/multipart-upload.ts';
import { partKey, stagedObjectKey } from '../../lambdas/core/storage/object-keys.ts';
import { FileBackedS3 } from '../../local/file-backed-s3.ts';
import { answerable } from '../support/answer-facts.ts';

const EXPORTS = 'exports';
const UPLOADS = 'uploads';
const USER = 'u-1001';
const EXPORT_ID = 'big-0000-0001';
const dataMap = parseDataMap(answerable({ sources: [{ id: 'attachments', category: 'communication', type: 's3', bucket: UPLOADS, prefix: 'users/{userId}/' }] }));
const runningJob = { get: () => Promise.resolve({ status: 'RUNNING', userId: USER }), recordSourceProgress: () => Promise.resolve() } as unknown as JobStore;

const folders: string[] = [];
afterAll(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })));
function store(): FileBackedS3 {
  const folder = mkdtempSync(join(tmpdir(), 'large-objects-'));
  folders.push(folder);
  return new FileBackedS3(folder);
}

function deps(s3: FileBackedS3, extra: Partial<CollectDeps> = {}, client = s3.asClient()): CollectDeps {
  return { dynamodb: {} as DynamoDBClient, s3: client, now: systemClock, exportBucket: { s3: client, bucket: EXPORTS, kmsKeyId: 'key' }, jobs: runningJob, dataMap, ...extra };
}

const first: CollectRequest = { exportId: EXPORT_ID, userId: USER, sourceId: 'attachments', cursor: null, nextPart: 0, records: 0 };

async function read(s3: S3Client, key: string, range?: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: EXPORTS, Key: key, Range: range }));
  const chunks: Buffer[] = [];
  for await (const chunk of object.Body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('objects too large for CopyObject', () => {
  it('copies a 6 GiB object inside S3 in parts, never reading it through the function', async () => {
    const s3 = store();
    const size = 6 * 1024 * MIB + 12345;
    s3.createSparse(UPLOADS, `users/${USER}/video.mov`, size);
    const result = await collectSource(first, deps(s3), Date.now() + 60_000, SOURCE_COLLECTORS);
    expect(result).toMatchObject({ done: true, records: 1 });
    const copies = s3.calls.filter((c) => c.name === 'UploadPartCopyCommand');
    expect(copies).toHaveLength(Math.ceil(size / (256 * MIB)));
    // The ranges cover the object exactly once, in order.
    let next = 0;
    for (const copy of copies) {
      const [from, to] = (copy.range ?? '').replace('bytes=', '').split('-').map(Number) as [number, number];
      expect(from).toBe(next);
      next = to + 1;
    }
    expect(next).toBe(size);
    expect(s3.calls.some((c) => c.name === 'GetObjectCommand' && c.bucket === UPLOADS)).toBe(false);
    expect(s3.calls.some((c) => c.name === 'CopyObjectCommand')).toBe(false);
    const staged = stagedObjectKey(EXPORT_ID, 'attachments', 0);
    expect((await read(s3.asClient(), staged, `bytes=${size - 4}-`)).equals(Buffer.alloc(4))).toBe(true);
    const listing = (await read(s3.asClient(), partKey(EXPORT_ID, 'attachments', 0))).toString('utf8');
    expect(JSON.parse(listing)).toMatchObject({ sequence: 0, key: 'video.mov', size });
    expect(s3.openUploads).toBe(0);
  });

  it('goes on with a copy that its time budget cut, in the next call, to the same bytes', async () => {
    const s3 = store();
    const big = randomBytes(23 * MIB + 777);
    const small = randomBytes(1000);
    // Written as the stand-in stores objects: a file per key.
    for (const [key, body] of [
      [`users/${USER}/a-big.bin`, big],
      [`users/${USER}/b-small.txt`, small],
    ] as const) {
      s3.createSparse(UPLOADS, key, 0);
      writeFileSync(s3.path(UPLOADS, key), body);
    }
    let clock = 0;
    // Each read of the clock is a second later; the budget is 1 s, so every call stops after its first batch.
    const limits = { copyLimitBytes: 8 * MIB, copyPartBytes: 5 * MIB, now: () => new Date((clock += 1000)) };
    const calls: string[] = [];
    let request = first;
    for (let call = 0; call < 10; call += 1) {
      const result = await collectSource(request, deps(s3, limits), clock + 1000, SOURCE_COLLECTORS);
      calls.push(result.cursor ?? 'done');
      request = result;
      if (result.done) break;
    }
    expect(request).toMatchObject({ done: true, records: 2 });
    // 5 parts, 4 per batch: the first call stops inside the big object with its copy under way.
    expect(JSON.parse(calls[0] ?? '{}')).toMatchObject({ copying: { key: `users/${USER}/a-big.bin`, nextPart: 5 } });
    expect(s3.calls.filter((c) => c.name === 'CreateMultipartUploadCommand')).toHaveLength(1);
    expect(s3.calls.filter((c) => c.name === 'UploadPartCopyCommand')).toHaveLength(5);
    const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
    expect(sha(await read(s3.asClient(), stagedObjectKey(EXPORT_ID, 'attachments', 0)))).toBe(sha(big));
    expect(sha(await read(s3.asClient(), stagedObjectKey(EXPORT_ID, 'attachments', 1)))).toBe(sha(small));
    expect(s3.openUploads).toBe(0);
  });

  describe('a copy its budget cut, run again with the same cursor (a Step Functions retry)', () => {
    const limits = (clock: { now: number }) => ({ copyLimitBytes: 8 * MIB, copyPartBytes: 5 * MIB, now: () => new Date((clock.now += 1000)) });
    const KEY = `users/${USER}/a-big.bin`;
    /** A stand-in holding one 43 MiB object (9 parts of 5 MiB) and a small one after it. */
    function seeded() {
      const s3 = store();
      const big = randomBytes(43 * MIB + 5);
      s3.createSparse(UPLOADS, KEY, 0);
      writeFileSync(s3.path(UPLOADS, KEY), big);
      s3.createSparse(UPLOADS, `users/${USER}/b-small.txt`, 0);
      writeFileSync(s3.path(UPLOADS, `users/${USER}/b-small.txt`), 'small');
      return { s3, big };
    }
    /** A client whose `name` command fails the `nth` time it is sent (once). */
    function failing(s3: FileBackedS3, name: string, nth: number) {
      const client = s3.asClient();
      const send = client.send.bind(client);
      let seen = 0;
      (client as { send: unknown }).send = (command: { constructor: { name: string } }) =>
        command.constructor.name === name && ++seen === nth
          ? Promise.reject(Object.assign(new Error('We encountered an internal error.'), { name: 'InternalError' }))
          : send(command as never);
      return client;
    }
    const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
    async function finish(s3: FileBackedS3, request: CollectRequest, clock: { now: number }) {
      let result = await collectSource(request, deps(s3, limits(clock)), clock.now + 1000, SOURCE_COLLECTORS);
      for (let call = 0; !result.done && call < 10; call += 1) result = await collectSource(result, deps(s3, limits(clock)), clock.now + 1000, SOURCE_COLLECTORS);
      return result;
    }

    it('goes on after a resumed call failed half-way through its parts', async () => {
      const { s3, big } = seeded();
      const clock = { now: 0 };
      const cut = await collectSource(first, deps(s3, limits(clock)), clock.now + 1000, SOURCE_COLLECTORS);
      expect(JSON.parse(cut.cursor ?? '{}')).toMatchObject({ copying: { nextPart: 5 } });
      await expect(collectSource(cut, deps(s3, limits(clock), failing(s3, 'UploadPartCopyCommand', 2)), clock.now + 1000, SOURCE_COLLECTORS)).rejects.toThrow('internal error');
      const done = await finish(s3, cut, clock);
      expect(done).toMatchObject({ done: true, records: 2 });
      expect(sha(await read(s3.asClient(), stagedObjectKey(EXPORT_ID, 'attachments', 0)))).toBe(sha(big));
      expect(s3.calls.filter((c) => c.name === 'CreateMultipartUploadCommand')).toHaveLength(1);
      expect(s3.openUploads).toBe(0);
    });

    it('sees a copy a failed call had already completed', async () => {
      const { s3, big } = seeded();
      const clock = { now: 0 };
      const cut = await collectSource(first, deps(s3, limits(clock)), clock.now + 1000, SOURCE_COLLECTORS);
      // This call completes the big copy, then fails copying the small object after it.
      await expect(collectSource(cut, deps(s3, { ...limits(clock), now: () => new Date(0) }, failing(s3, 'CopyObjectCommand', 1)), 1000, SOURCE_COLLECTORS)).rejects.toThrow(
        'internal error',
      );
      const done = await finish(s3, cut, clock);
      expect(done).toMatchObject({ done: true, records: 2 });
      expect(sha(await read(s3.asClient(), stagedObjectKey(EXPORT_ID, 'attachments', 0)))).toBe(sha(big));
    });

    it('ignores the ETags a later, lost call saved past its own cursor', async () => {
      const { s3, big } = seeded();
      const clock = { now: 0 };
      const cut = await collectSource(first, deps(s3, limits(clock)), clock.now + 1000, SOURCE_COLLECTORS);
      const later = await collectSource(cut, deps(s3, limits(clock)), clock.now + 1000, SOURCE_COLLECTORS);
      expect(JSON.parse(later.cursor ?? '{}')).toMatchObject({ copying: { nextPart: 9 } });
      // Its answer never reached the state machine: the retry has the earlier cursor.
      const done = await finish(s3, cut, clock);
      expect(done).toMatchObject({ done: true, records: 2 });
      expect(sha(await read(s3.asClient(), stagedObjectKey(EXPORT_ID, 'attachments', 0)))).toBe(sha(big));
    });

    it('starts again when the object was replaced between calls, never mixing two versions', async () => {
      const { s3 } = seeded();
      const clock = { now: 0 };
      const cut = await collectSource(first, deps(s3, limits(clock)), clock.now + 1000, SOURCE_COLLECTORS);
      const replaced = randomBytes(43 * MIB + 5); // the same size, other bytes
      writeFileSync(s3.path(UPLOADS, KEY), replaced);
      const done = await finish(s3, cut, clock);
      expect(done).toMatchObject({ done: true, records: 2 });
      expect(sha(await read(s3.asClient(), stagedObjectKey(EXPORT_ID, 'attachments', 0)))).toBe(sha(replaced));
      expect(s3.calls.filter((c) => c.name === 'CreateMultipartUploadCommand')).toHaveLength(2);
      expect(s3.openUploads).toBe(0);
    });

    it('stages an object added before the cut copy, and copies the large one again under its own place', async () => {
      const { s3, big } = seeded();
      const clock = { now: 0 };
      const cut = await collectSource(first, deps(s3, limits(clock)), clock.now + 1000, SOURCE_COLLECTORS);
      expect(JSON.parse(cut.cursor ?? '{}')).toMatchObject({ copying: { key: KEY } });
      // Listed between the cursor and the big object: it takes the big object's place in the sequence.
      const added = `users/${USER}/a-before.txt`;
      s3.createSparse(UPLOADS, added, 0);
      writeFileSync(s3.path(UPLOADS, added), 'added meanwhile');
      const done = await finish(s3, cut, clock);
      expect(done).toMatchObject({ done: true, records: 3 });
      expect((await read(s3.asClient(), stagedObjectKey(EXPORT_ID, 'attachments', 0))).toString()).toBe('added meanwhile');
      expect(sha(await read(s3.asClient(), stagedObjectKey(EXPORT_ID, 'attachments', 1)))).toBe(sha(big));
      expect((await read(s3.asClient(), stagedObjectKey(EXPORT_ID, 'attachments', 2))).toString()).toBe('small');
      // The first upload, made for the place the added object took, was aborted.
      expect(s3.openUploads).toBe(0);
    });
  });
});

describe('many small objects', () => {
  const put = (s3: FileBackedS3, key: string, text: string) => {
    mkdirSync(dirname(s3.path(UPLOADS, key)), { recursive: true });
    writeFileSync(s3.path(UPLOADS, key), text);
  };
  /** The stand-in's client, with each CopyObject held until the next tick and the copies at once counted. */
  function counting(s3: FileBackedS3) {
    const client = s3.asClient();
    const seen = { started: 0, inFlight: 0, most: 0 };
    const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
    (client as unknown as { send: (command: { constructor: { name: string } }) => Promise<unknown> }).send = async (command) => {
      if (command.constructor.name !== 'CopyObjectCommand') return send(command);
      seen.started += 1;
      seen.inFlight += 1;
      seen.most = Math.max(seen.most, seen.inFlight);
      try {
        await new Promise((resolve) => setImmediate(resolve));
        return await send(command);
      } finally {
        seen.inFlight -= 1;
      }
    };
    return { client, seen };
  }

  it('copies sixteen at a time and stages them in listing order, so thousands of files take seconds', async () => {
    const s3 = store();
    const keys = Array.from({ length: 100 }, (_, i) => `users/${USER}/photos/p-${String(i).padStart(3, '0')}.jpg`);
    keys.forEach((key, i) => put(s3, key, `photo ${i}`));
    const { client, seen } = counting(s3);
    const result = await collectSource(first, deps(s3, {}, client), Date.now() + 60_000, SOURCE_COLLECTORS);
    expect(result).toMatchObject({ done: true, records: 100 });
    expect(seen.most).toBe(16);
    const lines = (await read(client, partKey(EXPORT_ID, 'attachments', 0)))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { sequence: number; key: string });
    expect(lines.map((line) => line.key)).toEqual(keys.map((key) => key.slice(`users/${USER}/`.length)));
    expect(lines.map((line) => line.sequence)).toEqual(keys.map((_, i) => i));
    for (const i of keys.keys()) expect((await read(client, stagedObjectKey(EXPORT_ID, 'attachments', i))).toString()).toBe(`photo ${i}`);
  });

  it('stops starting copies at the deadline, and the next call goes on after the last one staged', async () => {
    const s3 = store();
    const keys = Array.from({ length: 40 }, (_, i) => `users/${USER}/f-${String(i).padStart(2, '0')}`);
    keys.forEach((key, i) => put(s3, key, `file ${i}`));
    // The clock passes the deadline once 20 copies have started.
    const { client, seen } = counting(s3);
    const cut = await collectSource(first, deps(s3, { now: () => new Date(seen.started >= 20 ? 100 : 0) }, client), 50, SOURCE_COLLECTORS);
    expect(cut.done).toBe(false);
    expect(cut.records).toBe(20);
    const rest = await collectSource({ ...cut, cursor: cut.cursor }, deps(s3, {}, client), Date.now() + 60_000, SOURCE_COLLECTORS);
    expect(rest).toMatchObject({ done: true, records: 40 });
    const parts = await Promise.all([0, 1].map((part) => read(client, partKey(EXPORT_ID, 'attachments', part))));
    const listed = parts.flatMap((part) => part.toString('utf8').trim().split('\n'));
    expect(listed.map((line) => (JSON.parse(line) as { key: string }).key)).toEqual(keys.map((key) => key.slice(`users/${USER}/`.length)));
  });
});
