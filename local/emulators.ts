// The embedded emulators, each in this process on a free loopback port: dynalite (DynamoDB), s3rver
// (S3) and aws-ses-v2-local (SES). Nothing is downloaded and no Docker is needed.
import dynalite from 'dynalite';
import crypto, { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver, { type S3rverFilesystemStore } from 's3rver';
import type * as SesLocal from 'aws-ses-v2-local';

// aws-ses-v2-local is CommonJS with an `exports.default`; require() reaches the function without guessing
// how the ESM loader wraps it.
const { default: sesLocal } = createRequire(import.meta.url)('aws-ses-v2-local') as (typeof SesLocal)['default'];

export interface Emulators {
  endpoints: { dynamodb: string; s3: string; ses: string };
  close(): Promise<void>;
}

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * s3rver keeps each key's folders as directories and removes a directory when a delete leaves it
 * empty. A put into the same folder at that moment creates the directory, then opens its file after
 * the delete removed it again, and the open fails on a stream nobody listens to: an uncaught
 * exception that takes the whole process down. Real S3 has no folders, and the workflow does meet
 * this: when one source fails, the failure cleanup deletes staging while another source's collector
 * may still be writing its last part. So folder removal and "create the folder and open the file"
 * take turns here; once a file is open in it, the folder is not empty and stays.
 */
function letPutsAndDeletesTakeTurns(store: S3rverFilesystemStore): void {
  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(step: () => Promise<T>): Promise<T> => {
    const result = turn.then(step);
    turn = result.catch(() => undefined);
    return result;
  };
  const deleteObject = store.deleteObject.bind(store);
  store.deleteObject = (bucket, key) => inTurn(() => deleteObject(bucket, key));
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    const file = await inTurn(async () => {
      await mkdir(dirname(objectPath), { recursive: true });
      return open(objectPath, 'w');
    });
    const md5 = createHash('md5');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const content = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    await pipeline(content, measure, file.createWriteStream());
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}

/**
 * S3 lists keys in UTF-8 byte order, and StartAfter (and a continuation token, which s3rver makes of the
 * page's last key) continues after a key in that order. s3rver walks its folders as the file system
 * returns them and stops at MaxKeys, so a listing resumed after a key could skip or repeat keys. Here
 * every listing is read whole, sorted by bytes, and cut after StartAfter and at MaxKeys, as S3 does.
 */
function listInByteOrder(store: S3rverFilesystemStore): void {
  const listObjects = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    const { startAfter = '', maxKeys = Infinity, delimiter = '', prefix = '' } = options;
    const all = await listObjects(bucket, { ...options, startAfter: '', maxKeys: Infinity, delimiter: '' });
    const after = Buffer.from(startAfter, 'utf8');
    const sorted = all.objects
      .map((object) => ({ object, bytes: Buffer.from(object.key, 'utf8') }))
      .filter(({ bytes }) => startAfter === '' || Buffer.compare(bytes, after) > 0)
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
      .map(({ object }) => object);
    const commonPrefixes = new Set<string>();
    const objects: typeof sorted = [];
    let isTruncated = false;
    for (const object of sorted) {
      const rest = object.key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (cut >= 0) {
        commonPrefixes.add(object.key.slice(0, prefix.length + cut + delimiter.length));
        continue;
      }
      if (objects.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      objects.push(object);
    }
    return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
  };
}

/**
 * s3rver makes its ListObjectsV2 continuation tokens with DES, which Node 22's OpenSSL 3 no longer has:
 * a listing past 1,000 keys answered 500, in collection and in staging cleanup alike. A token only has
 * to come back as it went (S3's are opaque), so "des" here passes its text through unchanged. Only that
 * algorithm name is touched, and only in the processes that run the emulators; it fails otherwise.
 */
function letContinuationTokensRoundTrip(): void {
  const passThrough = () => ({
    update: (data: string | Buffer, encoding?: BufferEncoding) => (typeof data === 'string' ? Buffer.from(data, encoding ?? 'utf8') : Buffer.from(data)),
    final: () => Buffer.alloc(0),
  });
  for (const name of ['createCipheriv', 'createDecipheriv'] as const) {
    const original = crypto[name] as (...args: unknown[]) => unknown;
    if ((original as { passesDes?: boolean }).passesDes) continue;
    const patched = (algorithm: string, ...rest: unknown[]) => (algorithm === 'des' ? passThrough() : original(algorithm, ...rest));
    (crypto as unknown as Record<string, unknown>)[name] = Object.assign(patched, { passesDes: true });
  }
}

/**
 * s3rver reads x-amz-copy-source with decodeURI, which leaves "%3F", "%23", "%26", "%3B", "%2C", "%2B",
 * "%3D" and "%24" encoded: a key holding "? # & ; , + = $" was not found. S3 decodes every escape; here the
 * header is decoded once and given to s3rver in the form decodeURI takes back to the key.
 */
function decodeCopySourceAsS3Does(s3: S3rver): void {
  const app = s3 as unknown as { middleware: ((ctx: { headers: Record<string, string | undefined> }, next: () => Promise<void>) => Promise<void>)[] };
  app.middleware.unshift(async (ctx, next) => {
    const header = ctx.headers['x-amz-copy-source'];
    if (header) {
      try {
        ctx.headers['x-amz-copy-source'] = encodeURI(decodeURIComponent(header));
      } catch {
        // A malformed escape: s3rver answers it as it would.
      }
    }
    await next();
  });
}

export async function startEmulators(): Promise<Emulators> {
  const s3Directory = mkdtempSync(join(tmpdir(), 'user-data-export-s3-'));
  const dynamodb = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await listen(dynamodb);
  const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3Directory, resetOnClose: true });
  letPutsAndDeletesTakeTurns(s3.store);
  listInByteOrder(s3.store);
  letContinuationTokensRoundTrip();
  decodeCopySourceAsS3Does(s3);
  const s3Address = await s3.run();
  const ses = await sesLocal({ host: '127.0.0.1', port: 0 });
  if (!ses.listening) await new Promise((resolve) => ses.once('listening', resolve));
  return {
    endpoints: { dynamodb: urlOf(dynamodb), s3: `http://127.0.0.1:${s3Address.port}`, ses: urlOf(ses) },
    async close() {
      await Promise.all([closeServer(dynamodb), s3.close(), closeServer(ses)]);
      rmSync(s3Directory, { recursive: true, force: true });
    },
  };
}
