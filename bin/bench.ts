// npm run bench: figures for speed and memory (never a timed test). Each stage runs in a child process
// of its own, so its peak RSS is its own; the same run measures the limits we compare against.
//   --records N     usage events of the big user (default 1,000,000; stages also run at 4N for memory)
//   --e2e-records N events of the end-to-end big user, loaded into the DynamoDB emulator (default min(N, 50,000))
//   --repeat N      rounds of the timed stages at N records; each figure is its fastest round (default 5)
//   --files N       uploaded files of the many-files user, end to end on the embedded stack (default 20,000)
//   --wave N        requests of the admission wave (default 500, sent within --arrival ms, default 60,000)
//   --cap N         its maxConcurrentExports (default 20); --budget N its Events read budget (default 20 RU/s)
//   --json FILE     the figures as JSON as well
// Stages work in /dev/shm when the machine has it: the S3 stand-in is files, and a disk's write-back
// would otherwise be measured along with our code.
import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { StageResult } from '../bench/stages.ts';
import type { WaveReport } from '../bench/wave.ts';
import type { ExportCost } from '../bench/export-costs.ts';
import { BUDGET_SHARE } from '../lambdas/core/collect/pacing/source-reads.ts';
import { DEFAULT_BUNDLE_BUDGET_SECONDS } from '../lambdas/core/platform/config.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    repeat: { type: 'string', default: '5' },
    'e2e-records': { type: 'string' },
    files: { type: 'string', default: '20000' },
    wave: { type: 'string', default: '500' },
    cap: { type: 'string', default: '20' },
    budget: { type: 'string', default: '20' },
    arrival: { type: 'string', default: '60000' },
    json: { type: 'string' },
  },
});
const records = Number(values.records);
if (!Number.isInteger(records) || records < 1000) {
  console.error('--records must be a whole number of at least 1000.');
  process.exit(2);
}
const e2eRecords = Number(values['e2e-records'] ?? Math.min(records, 50_000));
const rounds = Math.max(1, Number(values.repeat) || 1);
const manyFiles = Number(values.files);
if (!Number.isInteger(manyFiles) || manyFiles < 1) {
  console.error('--files must be a whole number of at least 1.');
  process.exit(2);
}
const wave = { exports: Number(values.wave), cap: Number(values.cap), budget: Number(values.budget), arrivalMs: Number(values.arrival) };
if (![wave.exports, wave.cap, wave.arrivalMs].every((n) => Number.isInteger(n) && n >= 1) || !(wave.budget > 0)) {
  console.error('--wave, --cap and --arrival must be whole numbers of at least 1, and --budget a positive number.');
  process.exit(2);
}
const workRoot = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/** The stage runner bundled as the Lambda functions are (ESM, minified, CommonJS dependencies required). */
async function bundleStageRunner(folder: string): Promise<string> {
  const outfile = join(folder, 'run-stage.mjs');
  await build({
    entryPoints: ['bench/run-stage.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    // The file-backed S3 stand-in tells commands apart by their class names.
    keepNames: true,
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  return outfile;
}

function run<T>(args: string[], name: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as T) : reject(new Error(`stage ${name} exited ${code}`))));
  });
}

const buildDir = mkdtempSync(join(tmpdir(), 'bench-build-'));
const runner = await bundleStageRunner(buildDir);
const stage = <T extends StageResult>(name: string, count: number, workDir: string, keep = false) => run<T>([runner, name, String(count), workDir, keep ? 'keep' : ''], name);

const mb = (bytes: number) => bytes / 1024 / 1024;
const log = (message: string) => console.error(`… ${message}`);

const dirN = mkdtempSync(join(workRoot, 'bench-n-'));
const dir4N = mkdtempSync(join(workRoot, 'bench-4n-'));
/** The fastest of the rounds, with the largest peak RSS any of them reached. */
const fastest = <T extends StageResult>(results: T[]): T => ({
  ...results.reduce((best, r) => (r.seconds < best.seconds ? r : best)),
  peakRssMB: Math.max(...results.map((r) => r.peakRssMB)),
});
try {
  const collects: StageResult[] = [];
  const floors: StageResult[] = [];
  const bundles: (StageResult & { archiveBytes: number })[] = [];
  type Limit = StageResult & { writers: { archiverSeconds: number; zipWriterSeconds: number }; pigzSeconds: number };
  const limits: Limit[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    log(`round ${round} of ${rounds}: collect ${records.toLocaleString('en-US')} records, decode floor, bundle, raw deflate and pigz limits over the same bytes`);
    collects.push(await stage('collect', records, dirN));
    floors.push(await stage('floor', records, dirN));
    bundles.push(await stage<StageResult & { archiveBytes: number }>('bundle', records, dirN, true));
    await stage('entries', records, dirN);
    limits.push(await stage<Limit>('limit', records, dirN));
    rmSync(dirN, { recursive: true, force: true });
  }
  const [collectN, floor, bundleN, limit] = [fastest(collects), fastest(floors), fastest(bundles), fastest(limits)];
  log(`collect and bundle at 4N = ${(4 * records).toLocaleString('en-US')} records (memory)`);
  const collect4N = await stage('collect', 4 * records, dir4N);
  const bundle4N = await stage('bundle', 4 * records, dir4N);
  rmSync(dir4N, { recursive: true, force: true });
  log(`end to end on the embedded stack (demo user; ${e2eRecords.toLocaleString('en-US')}-event user)`);
  const e2eDir = mkdtempSync(join(tmpdir(), 'bench-e2e-'));
  const e2e = await run<StageResult & { smallUserMs: number; bigUserMs: number }>(['--import', 'tsx', 'bench/run-end-to-end.ts', String(e2eRecords), e2eDir], 'end to end');
  rmSync(e2eDir, { recursive: true, force: true });
  log(`a user with ${manyFiles.toLocaleString('en-US')} uploaded files, end to end on the embedded stack (loading them is not timed)`);
  const filesDir = mkdtempSync(join(tmpdir(), 'bench-files-'));
  const files = await run<StageResult & { files: number }>(['--import', 'tsx', 'bench/run-many-files.ts', String(manyFiles), filesDir], 'many files');
  rmSync(filesDir, { recursive: true, force: true });
  const pigzMBps = mb(limit.bytes) / Math.min(...limits.map((l) => l.pigzSeconds));
  log(`an admission wave: ${wave.exports} requests within ${wave.arrivalMs / 1000} s, cap ${wave.cap}, Events budget ${wave.budget} RU/s`);
  const waveDir = mkdtempSync(join(tmpdir(), 'bench-wave-'));
  const waveReport = await run<WaveReport>(
    ['--import', 'tsx', 'bench/run-wave.ts', String(wave.exports), String(wave.cap), String(wave.budget), String(wave.arrivalMs), '8', waveDir],
    'wave',
  );
  rmSync(waveDir, { recursive: true, force: true });
  log('what one export of each demo user costs: read units, requests, invocations');
  const costs = await run<ExportCost[]>(['--import', 'tsx', 'bench/run-export-costs.ts'], 'export costs');
  const average = (pick: (cost: ExportCost) => number) => costs.reduce((sum, cost) => sum + pick(cost), 0) / costs.length;
  const sum = (record: Record<string, number | { count: number }>) => Object.values(record).reduce<number>((total, v) => total + (typeof v === 'number' ? v : v.count), 0);

  const figures = {
    cores: availableParallelism(),
    records,
    rounds,
    limitMBps: mb(limit.bytes) / limit.seconds,
    archiverMBps: mb(limit.bytes) / Math.min(...limits.map((l) => l.writers.archiverSeconds)),
    zipWriterMBps: mb(limit.bytes) / Math.min(...limits.map((l) => l.writers.zipWriterSeconds)),
    bundleMBps: mb(bundleN.bytes) / bundleN.seconds,
    bundleRatio: mb(bundleN.bytes) / bundleN.seconds / (mb(limit.bytes) / limit.seconds),
    pigzMBps,
    bundleToPigz: mb(bundleN.bytes) / bundleN.seconds / pigzMBps,
    decodeFloorItemsPerSec: floor.records / floor.seconds,
    collectItemsPerSec: records / collectN.seconds,
    collectRatio: records / collectN.seconds / (floor.records / floor.seconds),
    peakRssMB: Math.max(collectN.peakRssMB, bundleN.peakRssMB),
    peakRssMB4N: Math.max(collect4N.peakRssMB, bundle4N.peakRssMB),
    smallUserEndToEndMs: e2e.smallUserMs,
    bigUserEndToEndMs: e2e.bigUserMs,
    bigUserEndToEndRecords: e2eRecords,
    manyFiles,
    // The figure's name keeps the default size; --files changes what it measures.
    files20kSeconds: files.seconds,
    archiveBytes: bundleN.archiveBytes,
    uncompressedMB: mb(bundleN.bytes),
    // What one BundleArchive call writes before its budget ends the part, at the measured rate; the
    // state machine's further calls add a part each.
    perBundleCallGB: ((mb(bundleN.bytes) / bundleN.seconds) * DEFAULT_BUNDLE_BUDGET_SECONDS) / 1000,
    perBundleCallZipGB: ((mb(bundleN.archiveBytes) / bundleN.seconds) * DEFAULT_BUNDLE_BUDGET_SECONDS) / 1000,
    wave: { ...waveReport, users: undefined, archives: undefined, exportsPerHour: waveReport.exports / (waveReport.wallMs / 3_600_000) },
    // At the budget alone (the share the pacer spends of it), were nothing else the limit.
    budgetBoundExportsPerHour: ((wave.budget * BUDGET_SHARE) / waveReport.readUnitsPerExport) * 3600,
    demoExportCosts: costs,
    stages: { collectN, floor, bundleN, limit, collect4N, bundle4N, e2e, files },
  };

  const row = (name: string, value: string, target = '') => `  ${name.padEnd(34)} ${value.padStart(16)}   ${target}`;
  const f1 = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });
  const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`\nnpm run bench -- --records ${records}   (${figures.cores} cores, Node ${process.version}, fastest of ${rounds} rounds)\n`);
  console.log(row('raw deflate limit (level 6)', `${f1(figures.limitMBps)} MB/s`));
  console.log(row('  archiver 8, same bytes, no records', `${f1(figures.archiverMBps)} MB/s`, 'one zlib stream per entry'));
  console.log(row('  our ZIP writer, same bytes', `${f1(figures.zipWriterMBps)} MB/s`, `1 MiB blocks deflated on ${figures.cores} cores`));
  console.log(row('bundle (parts → ZIP → upload sink)', `${f1(figures.bundleMBps)} MB/s`, `${f1(mb(bundleN.bytes))} MB of JSON+CSV → ${f1(mb(bundleN.archiveBytes))} MB ZIP`));
  console.log(row(`  pigz -p ${figures.cores}, same bytes and level`, `${f1(figures.pigzMBps)} MB/s`, "the machine's real parallel limit"));
  console.log(row('bundle / limit', figures.bundleRatio.toFixed(2), 'target ≥ 0.90 (single-stream deflate)'));
  console.log(row('bundle / pigz', figures.bundleToPigz.toFixed(2), 'JSON and CSV rendered, hashed and uploaded as well'));
  console.log(
    row(
      `one BundleArchive call (${DEFAULT_BUNDLE_BUDGET_SECONDS} s)`,
      `${f1(figures.perBundleCallGB)} GB`,
      `of JSON+CSV (${f1(figures.perBundleCallZipGB)} GB of ZIP) per call at this rate; each further call adds a part`,
    ),
  );
  console.log(row('decode floor', `${f0(figures.decodeFloorItemsPerSec)} items/s`, 'unmarshall + JSON.stringify of the same pages'));
  console.log(row('collect (pages → staging parts)', `${f0(figures.collectItemsPerSec)} items/s`));
  console.log(row('collect / floor', figures.collectRatio.toFixed(2), 'target ≥ 0.80'));
  console.log(row('peak RSS at N (collect, bundle)', `${collectN.peakRssMB}, ${bundleN.peakRssMB} MB`, 'target < 256'));
  console.log(
    row(
      'peak RSS at 4N (collect, bundle)',
      `${collect4N.peakRssMB}, ${bundle4N.peakRssMB} MB`,
      `target < 256 and ≤ 1.2 × N (${(figures.peakRssMB4N / figures.peakRssMB).toFixed(2)})`,
    ),
  );
  console.log(row('end to end, demo user', `${f0(figures.smallUserEndToEndMs)} ms`, 'start → email, embedded stack'));
  console.log(row(`end to end, ${e2eRecords.toLocaleString('en-US')}-event user`, `${f0(figures.bigUserEndToEndMs)} ms`));
  console.log(row(`end to end, ${manyFiles.toLocaleString('en-US')}-file user`, `${f1(figures.files20kSeconds)} s`, 'target < 120 s at 20,000; embedded stack'));
  const w = figures.wave;
  console.log(
    row(
      `admission wave, ${w.exports} requests`,
      `${f0(w.exportsPerHour)} exports/h`,
      `cap ${w.cap}, peak ${w.peakRunning} running; ${w.waited} waited; request→READY p50 ${f1(w.p50Ms / 1000)} s, p95 ${f1(w.p95Ms / 1000)} s`,
    ),
  );
  console.log(
    row(
      '  Events table, emulator-side',
      `${f1(w.peakReadUnitsPerSecond)} RU/s peak`,
      `budget ${w.budget}; ${f1(w.readUnitsPerExport)} RU per export; the budget alone allows ${f0(figures.budgetBoundExportsPerHour)} exports/h`,
    ),
  );
  console.log(row('read units per export, demo users', costs.map((c) => f1(c.readUnits)).join(', '), costs.map((c) => c.userId).join(', ')));
  console.log(row('  jobs-table requests per export', f0(average((c) => c.jobsTableRequests)), 'reads and writes of the exporter’s own table'));
  console.log(row('  S3 requests per export', f0(average((c) => sum(c.s3Requests))), 'staging puts, copies, archive reads and upload'));
  console.log(
    row(
      '  Lambda invocations per export',
      f0(average((c) => c.taskInvocations) + 1),
      `tasks + ExecutionEnded; ${f1(average((c) => Object.values(c.invocations).reduce((t, v) => t + v.ms, 0)) / 1000)} s of handler time here`,
    ),
  );
  console.log(row('  archive per export', `${f1(average((c) => c.archiveBytes) / 1024)} KB`, `${average((c) => c.sesMessages)} email`));
  if (values.json) writeFileSync(values.json, JSON.stringify(figures, null, 2));
} finally {
  rmSync(dirN, { recursive: true, force: true });
  rmSync(dir4N, { recursive: true, force: true });
  rmSync(buildDir, { recursive: true, force: true });
}
