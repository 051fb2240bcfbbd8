// The benchmark's stages, each run in a child process of its own (bin/bench.ts) so that its peak RSS is
// its own. Collect and bundle run the production code (collectSource, buildArchive) against a Query page
// source and a file-backed S3, so what is measured is our code, not an emulator.
import { SOURCE_COLLECTORS } from '../lambdas/core/collect/source-collectors.ts';
import { systemClock } from '../lambdas/core/platform/clock.ts';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw } from 'node:zlib';
import { ZipArchive } from 'archiver';
import { ZipWriter } from '../lambdas/core/archive/zip/zip-writer.ts';
import { buildUntilDone } from '../lambdas/core/archive/build-archive.ts';
import { collectSource } from '../lambdas/core/collect/collect-source.ts';
import { parseDataMap } from '../lambdas/core/data-map/data-map.ts';
import type { RequestFacts } from '../lambdas/core/archive/about-this-export.ts';
import type { JobStore } from '../lambdas/core/jobs/job-store.ts';
import { forEachEntry } from '../local/archive-reader.ts';
import { FileBackedS3 } from '../local/file-backed-s3.ts';

export const BENCH_USER = 'u-bench';
export const EXPORT_ID = 'bench-0000-0000-0000-000000000000';
const BUCKET = 'bench-exports';
/** Items per Query page: about DynamoDB's 1 MB page for ~330-byte usage events. */
export const PAGE_ITEMS = 3000;
/**
 * Distinct pages generated once and served in rotation, so both collect and the floor see the same bytes.
 * Two are enough: 6,000 events (2 MB of JSON) repeat far beyond deflate's 32 KiB window, so the archive
 * compresses as distinct data would; every page more is heap the benchmark, not the collector, holds
 * (eight cost the collect stage ~25 MB of its measured RSS).
 */
const PAGE_POOL = 2;
export const ZLIB = { level: 6, chunkSize: 256 * 1024 };

/** The demo map's legal facts, so the benchmark's archive answers as a real one does (about-this-export.json). */
// From the working folder (npm run bench runs in the repository): the runner is bundled into a temporary folder, where a path relative to the module finds nothing.
const demoMap = JSON.parse(readFileSync(join(process.cwd(), 'config', 'data-map.json'), 'utf8')) as { controller: unknown; categories: unknown };

export const benchDataMap = parseDataMap({
  controller: demoMap.controller,
  categories: demoMap.categories,
  sources: [{ id: 'usage-events', category: 'usage', type: 'dynamodb', table: 'UsageEvents', index: 'byUser', partitionKey: 'userId', keyTemplate: '{userId}' }],
});

const BENCH_REQUEST: RequestFacts = { receivedAt: '2026-01-01T00:00:00.000Z', dueBy: '2026-01-31T00:00:00.000Z', requestedBy: 'self', categories: ['usage'] };

/** A deterministic usage event, about 330 bytes as JSON. */
function event(n: number): Record<string, AttributeValue> {
  const types = ['vehicle_view', 'search', 'click', 'dealer_contact', 'save_vehicle'];
  const vin = `1HGCM82633A${String(100000 + (n % 900000)).padStart(6, '0')}`;
  return {
    eventId: { S: `evt-${String(n).padStart(9, '0')}` },
    userId: { S: BENCH_USER },
    occurredAt: { S: new Date(Date.UTC(2026, 0, 1) + n * 17_000).toISOString() },
    type: { S: types[n % types.length] ?? 'click' },
    path: { S: `/inventory/${vin}?utm_source=newsletter&position=${n % 40}` },
    vin: { S: vin },
    durationMs: { N: String(1000 + ((n * 7919) % 90000)) },
    referrer: { S: n % 3 === 0 ? 'https://www.google.com/' : '' },
    sessionId: { S: `s-${Math.floor(n / 40).toString(36)}` },
    price: { N: `${15000 + (n % 30000)}.${String(n % 100).padStart(2, '0')}` },
  };
}

const pool = Array.from({ length: PAGE_POOL }, (_, p) => Array.from({ length: PAGE_ITEMS }, (_, i) => event(p * PAGE_ITEMS + i)));

/** Page `index` of `records` events: its items, and whether another page follows (as DynamoDB pages). */
function page(records: number, index: number): { items: Record<string, AttributeValue>[]; more: boolean } {
  const count = Math.max(0, Math.min(PAGE_ITEMS, records - index * PAGE_ITEMS));
  return { items: (pool[index % PAGE_POOL] ?? []).slice(0, count), more: (index + 1) * PAGE_ITEMS < records };
}

/** Query pages of `records` events for the bench user, like DynamoDB's: LastEvaluatedKey until the end. */
export function pageSource(records: number): DynamoDBClient {
  const send = (command: { input: { ExclusiveStartKey?: Record<string, AttributeValue> } }) => {
    const index = Number(command.input.ExclusiveStartKey?.page?.N ?? '0');
    const { items, more } = page(records, index);
    return Promise.resolve({ Items: items, LastEvaluatedKey: more ? { page: { N: String(index + 1) } } : undefined });
  };
  return { send } as unknown as DynamoDBClient;
}

const runningJob = { get: () => Promise.resolve({ status: 'RUNNING', userId: BENCH_USER }), recordSourceProgress: () => Promise.resolve() } as unknown as JobStore;

export interface StageResult {
  stage: string;
  records: number;
  seconds: number;
  bytes: number;
  peakRssMB: number;
  /** At the end of the stage, in MB: where the memory is (V8 heap, buffers outside it). */
  memoryMB?: Record<string, number>;
}

const peakRssMB = () => Math.round(process.resourceUsage().maxRSS / 1024);
export const memoryMB = () => Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 1048576)]));

/** Query pages → NDJSON staging parts on disk, by collectSource. */
export async function collectStage(records: number, workDir: string): Promise<StageResult> {
  const s3 = new FileBackedS3(workDir).asClient();
  const started = performance.now();
  let request = { exportId: EXPORT_ID, userId: BENCH_USER, sourceId: 'usage-events', cursor: null as string | null, nextPart: 0, records: 0 };
  for (;;) {
    // A 60 s budget per call, as in Lambda: big users loop through the cursor like the state machine does.
    const result = await collectSource(
      request,
      { dynamodb: pageSource(records), s3, now: systemClock, exportBucket: { s3, bucket: BUCKET, kmsKeyId: 'bench' }, jobs: runningJob, dataMap: benchDataMap },
      Date.now() + 60_000,
      SOURCE_COLLECTORS,
    );
    request = { ...result };
    if (result.done) break;
  }
  const seconds = (performance.now() - started) / 1000;
  if (request.records !== records) throw new Error(`collect staged ${request.records} of ${records} records`);
  return { stage: 'collect', records, seconds, bytes: 0, peakRssMB: peakRssMB(), memoryMB: memoryMB() };
}

/** The decode floor: the same pages unmarshalled and serialized in a tight loop, nothing else. */
export function decodeFloorStage(records: number): StageResult {
  const started = performance.now();
  let bytes = 0;
  let seen = 0;
  // The same pages as collect, taken synchronously: the floor excludes any I/O.
  for (let index = 0, more = true; more; index += 1) {
    const next = page(records, index);
    for (const item of next.items) bytes += JSON.stringify(unmarshall(item)).length + 1;
    seen += next.items.length;
    more = next.more;
  }
  const seconds = (performance.now() - started) / 1000;
  return { stage: 'decode floor', records: seen, seconds, bytes, peakRssMB: peakRssMB() };
}

/** Staging parts → ZIP (JSON + CSV entries) → an upload sink, by buildArchive. Bytes: uncompressed input. */
export async function bundleStage(records: number, workDir: string, keepArchive: boolean): Promise<StageResult & { archiveBytes: number }> {
  const store = new FileBackedS3(workDir, keepArchive ? undefined : 'archives/');
  const s3 = store.asClient();
  const parts = readdirSync(join(workDir, BUCKET)).filter((name) => name.includes('part-') && name.endsWith('.ndjson')).length;
  const started = performance.now();
  const result = await buildUntilDone(
    { exportId: EXPORT_ID, userId: BENCH_USER, formats: ['json', 'csv'], request: BENCH_REQUEST, sources: [{ sourceId: 'usage-events', nextPart: parts, records }] },
    { s3, now: systemClock, exportBucket: { s3, bucket: BUCKET, kmsKeyId: 'bench' }, dataMap: benchDataMap, compressionLevel: ZLIB.level },
  );
  const seconds = (performance.now() - started) / 1000;
  return { stage: 'bundle', records, seconds, bytes: result.entryBytes, archiveBytes: result.archiveBytes, peakRssMB: peakRssMB(), memoryMB: memoryMB() };
}

/**
 * Untimed preparation of the limit: the archive's JSON and CSV entries inflated into one file. It runs in
 * a process of its own, so the garbage of inflating hundreds of megabytes is not being collected (on one
 * of the two cores) while the limit is timed.
 */
export async function entriesStage(workDir: string): Promise<StageResult> {
  const store = new FileBackedS3(workDir);
  const archive = store.list(BUCKET).find((k) => k.endsWith('.zip'));
  if (!archive) throw new Error('the bundle stage kept no archive to measure the limit against');
  await mkdir(workDir, { recursive: true });
  const out = createWriteStream(entriesFile(workDir));
  await forEachEntry(store.path(BUCKET, archive), async (entry, read) => {
    if (!/\.(json|csv)$/.test(entry.fileName) || entry.fileName === 'manifest.json') return;
    for await (const chunk of await read()) if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  });
  await new Promise<void>((resolve) => out.end(resolve));
  return { stage: 'entries', records: 0, seconds: 0, bytes: statSync(entriesFile(workDir)).size, peakRssMB: peakRssMB() };
}

const entriesFile = (workDir: string) => join(workDir, 'entries.bin');

/** The limit: raw deflate of exactly the archive's JSON and CSV bytes (from entriesStage), same level and chunking. */
export async function limitStage(workDir: string): Promise<StageResult & { writers: { archiverSeconds: number; zipWriterSeconds: number }; pigzSeconds: number }> {
  const file = entriesFile(workDir);
  const bytes = statSync(file).size;
  const started = performance.now();
  await pipeline(
    createReadStream(file, { highWaterMark: ZLIB.chunkSize }),
    createDeflateRaw(ZLIB),
    new Writable({ write: (_chunk: Buffer, _encoding, callback) => callback(null) }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { stage: 'raw deflate', records: 0, seconds, bytes, peakRssMB: peakRssMB(), writers: await zipWritersOver(file), pigzSeconds: await pigzOver(file) };
}

/**
 * The machine's real limit for parallel deflate: pigz on every core, at the same level, over the same
 * bytes, its output discarded. (npm run bench installs Debian's pigz first: scripts/ensure-bench-packages.sh.)
 */
async function pigzOver(file: string): Promise<number> {
  const started = performance.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('pigz', ['-p', String(availableParallelism()), `-${ZLIB.level}`, '-c', file], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', (error) => reject(new Error(`pigz could not run (${error.message}); npm run bench installs it from Debian (scripts/ensure-bench-packages.sh).`)));
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`pigz exited with code ${code}`);
  return (performance.now() - started) / 1000;
}

const nullSink = () => new Writable({ objectMode: true, write: (_chunk: Buffer, _encoding, callback) => callback(null) });

/**
 * The ZIP writers alone over the same bytes, as one entry, no serialization: archiver 8 (one zlib stream
 * per entry) against ours (1 MiB blocks deflated on every core). Why the bundler writes its own ZIP.
 */
async function zipWritersOver(entriesFile: string): Promise<{ archiverSeconds: number; zipWriterSeconds: number }> {
  let started = performance.now();
  const archive = new ZipArchive({ zlib: ZLIB });
  const archived = pipeline(archive, nullSink());
  archive.append(createReadStream(entriesFile, { highWaterMark: ZLIB.chunkSize }), { name: 'entries.bin' });
  await archive.finalize();
  await archived;
  const archiverSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  const zip = new ZipWriter({ level: ZLIB.level });
  const zipped = pipeline(zip.output, nullSink());
  await zip.openEntry('entries.bin', new Date());
  for await (const block of createReadStream(entriesFile, { highWaterMark: 1024 * 1024 })) await zip.write(block as Buffer);
  await zip.closeEntry();
  await zip.finish();
  await zipped;
  return { archiverSeconds, zipWriterSeconds: (performance.now() - started) / 1000 };
}
