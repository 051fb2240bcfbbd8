// The S3 emulator: s3rver, with its departures from S3 fixed at its boundary (listing order and paging,
// continuation tokens, copy-source decoding, folder removal). It runs in a process of its own
// (local/emulator-process.ts), so that its work and the handlers' share both cores instead of one.
import crypto, { createHash } from 'node:crypto';
import { copyFile, mkdir, open, readdir, rmdir, unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver, { type S3rverFilesystemStore } from 's3rver';

/** The object s3rver's listing returns (key, metadata, size), built the same way for the pages listed here. */
const S3Object = createRequire(import.meta.url)('s3rver/lib/models/object') as new (
  bucket: string,
  key: string,
  content: null,
  metadata: Record<string, string>,
) => { key: string };

/** Starts s3rver on a free loopback port, storing its objects under `directory`; resolves to its port. */
export async function startS3Emulator(directory: string): Promise<{ port: number; close(): Promise<void> }> {
  const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, resetOnClose: true });
  letPutsAndDeletesTakeTurns(s3.store);
  rememberBucketConfiguration(s3.store);
  listInByteOrder(s3.store);
  letContinuationTokensRoundTrip();
  decodeCopySourceAsS3Does(s3);
  const { port } = await s3.run();
  return { port, close: () => s3.close() };
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
  /** A folder and a file in it, created in turn with folder removal; once the file is there the folder stays. */
  const createInTurn = (path: string, flags: 'w' | 'a') =>
    inTurn(async () => {
      await mkdir(dirname(path), { recursive: true });
      return open(path, flags);
    });
  store.deleteObject = (bucket, key) => inTurn(() => deleteObjectFiles(store, bucket, key));
  // A copy creates its file in turn too, with one copyFile per file: s3rver's fs-extra copy stat'ed every
  // folder up to the root for each, a fifth of what copying a small object cost.
  store.copyObject = async (sourceBucket, sourceKey, bucket, key, replacementMetadata) => {
    const source = (resource: string) => store.getResourcePath(sourceBucket, sourceKey, resource);
    const target = (resource: string) => store.getResourcePath(bucket, key, resource);
    if (source('object') !== target('object')) {
      // In turn only the folder and the file's creation, which keeps the folder; the bytes after that.
      await (await createInTurn(target('object'), 'a')).close();
      await copyFile(source('object'), target('object'));
      if (!replacementMetadata) await Promise.all(['metadata.json', 'object.md5'].map((resource) => copyFile(source(resource), target(resource))));
    }
    if (replacementMetadata) await store.putMetadata(bucket, key, replacementMetadata);
    return store.getMetadata(bucket, key);
  };
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    const file = await createInTurn(objectPath, 'w');
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
 * Deletes an object's files and then the folders it leaves empty, as s3rver does, but asks each folder
 * to go (rmdir refuses one that is not empty) instead of reading it whole first: s3rver's readdir per
 * delete made removing a staging folder of n objects cost n² directory entries.
 */
async function deleteObjectFiles(store: S3rverFilesystemStore, bucket: string, key: string): Promise<void> {
  await Promise.all(
    ['object', 'object.md5', 'metadata.json'].map((resource) =>
      unlink(store.getResourcePath(bucket, key, resource)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      }),
    ),
  );
  const folders = key.split('/').slice(0, -1);
  for (; folders.length > 0; folders.pop()) {
    try {
      await rmdir(join(store.rootDirectory, bucket, ...folders));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return;
      throw error;
    }
  }
}

/**
 * S3 lists keys in UTF-8 byte order, and StartAfter (and a continuation token, which s3rver makes of the
 * page's last key) continues after a key in that order. s3rver walks its folders as the file system
 * returns them and stops at MaxKeys, so a listing resumed after a key could skip or repeat keys. Here
 * the keys under the prefix are read from the store's files, sorted by bytes, and cut after StartAfter
 * and at MaxKeys, as S3 does; only the page's objects have their metadata read (s3rver reads every
 * listed key's, which made each page of a 20,000-file user cost 20,000 file reads).
 */
function listInByteOrder(store: S3rverFilesystemStore): void {
  store.listObjects = async (bucket, options) => {
    const { startAfter = '', maxKeys = Infinity, delimiter = '', prefix = '' } = options;
    const after = Buffer.from(startAfter, 'utf8');
    const sorted = (await keysUnder(store, bucket, prefix))
      .map((key) => ({ key, bytes: Buffer.from(key, 'utf8') }))
      .filter(({ bytes }) => startAfter === '' || Buffer.compare(bytes, after) > 0)
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
      .map(({ key }) => key);
    const commonPrefixes = new Set<string>();
    const keys: string[] = [];
    let isTruncated = false;
    for (const key of sorted) {
      const rest = key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (cut >= 0) {
        commonPrefixes.add(key.slice(0, prefix.length + cut + delimiter.length));
        continue;
      }
      if (keys.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      keys.push(key);
    }
    // An object deleted since its key was read is left out, as s3rver does.
    const objects = await Promise.all(
      keys.map((key) =>
        store.getMetadata(bucket, key).then(
          (metadata) => new S3Object(bucket, key, null, metadata),
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'ENOENT') return undefined;
            throw error;
          },
        ),
      ),
    );
    return { objects: objects.filter((object) => object !== undefined), commonPrefixes: [...commonPrefixes].sort(), isTruncated };
  };
}

/** The file s3rver keeps an object's bytes in: "<last segment>._S3rver_object" in its folders. */
const OBJECT_FILE = '._S3rver_object';

/** Every key in `bucket` that starts with `prefix`, read from the folders the prefix can be in. */
async function keysUnder(store: S3rverFilesystemStore, bucket: string, prefix: string): Promise<string[]> {
  const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
  const root = join(store.rootDirectory, bucket);
  const keys: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(root, relative), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (path.startsWith(prefix) || prefix.startsWith(`${path}/`)) await walk(path);
      } else if (entry.name.endsWith(OBJECT_FILE)) {
        const key = path.slice(0, -OBJECT_FILE.length);
        if (key.startsWith(prefix)) keys.push(key);
      }
    }
  };
  await walk(folder);
  return keys;
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

/**
 * s3rver reads a bucket's CORS and website configuration from its files on every request (two reads
 * each, mostly of files that are not there). Here each is read once and forgotten when it is put or
 * deleted (or its bucket is), so what a request sees is what a read would have found.
 */
function rememberBucketConfiguration(store: S3rverFilesystemStore): void {
  const known = new Map<string, Promise<unknown>>();
  const id = (bucket: string, type: string) => `${bucket}\u0000${type}`;
  const read = store.getSubresource.bind(store);
  const put = store.putSubresource.bind(store);
  const remove = store.deleteSubresource.bind(store);
  store.getSubresource = (bucket, key, type) => {
    if (key !== undefined) return read(bucket, key, type);
    let configuration = known.get(id(bucket, type));
    if (!configuration) {
      configuration = read(bucket, key, type);
      known.set(id(bucket, type), configuration);
      configuration.catch(() => known.delete(id(bucket, type)));
    }
    return configuration;
  };
  store.putSubresource = async (bucket, key, resource) => {
    known.delete(id(bucket, resource.type));
    await put(bucket, key, resource);
    known.delete(id(bucket, resource.type));
  };
  const deleteBucket = store.deleteBucket.bind(store);
  store.deleteBucket = async (bucket) => {
    await deleteBucket(bucket);
    for (const entry of known.keys()) if (entry.startsWith(id(bucket, ''))) known.delete(entry);
  };
  store.deleteSubresource = async (bucket, key, type) => {
    known.delete(id(bucket, type));
    await remove(bucket, key, type);
    known.delete(id(bucket, type));
  };
}
