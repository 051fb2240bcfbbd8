// A wave of requests on the embedded stack: N users ask for their data within a minute through the
// account page's API, with admission capped and a read budget on the table two sources share. It
// measures what admission and pacing promise: the most executions running at once (sampled at every
// task invocation and every 10 ms), the read units the table consumed per second as the DynamoDB
// emulator counted them (local/read-meter.ts, never what a collector says), and how long each export
// took from request to READY. Each archive is saved for the caller to check. test/reliability/wave.test.ts
// and `npm run bench` both run it, in a process of its own (bench/run-wave.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedStack } from '../local/embedded-stack.ts';
import type { Seed } from '../local/seed.ts';
import { ANSWER_FACTS } from '../test/support/answer-facts.ts';

export interface WaveOptions {
  exports: number;
  /** maxConcurrentExports. */
  cap: number;
  /** Read units per second the Events table may serve, to all exports together. */
  budget: number;
  /** The requests are sent evenly over this long. */
  arrivalMs: number;
  /** Requests sent and not yet answered, at most: the API shares this one process with every execution. */
  inFlight: number;
  /** Where the data map and each user's archive go. */
  dir: string;
}

export interface WaveReport {
  exports: number;
  cap: number;
  budget: number;
  /** Milliseconds from the first request to the last answer. */
  requestedMs: number;
  /** Answers other than 202, by status. */
  refused: Record<string, number>;
  /** Requests answered QUEUED and waiting for a slot. */
  waited: number;
  /** Statuses the exports ended in. */
  statuses: Record<string, number>;
  peakRunning: number;
  /** Read units per second in the busiest second, on the emulator's side. */
  peakReadUnitsPerSecond: number;
  readUnitsPerExport: number;
  /** Request to READY, milliseconds. */
  p50Ms: number;
  p95Ms: number;
  /** First request to the last export READY, milliseconds. */
  wallMs: number;
  /** Each user's archive (users[i] → archives[i]). */
  users: string[];
  archives: string[];
}

export const WAVE_TABLE = 'Events';

/** The wave's data map: a profile, and two sources on one table with a shared budget. */
export function waveDataMap(budget: number) {
  return {
    ...ANSWER_FACTS,
    tables: { [WAVE_TABLE]: { maxReadUnitsPerSecond: budget } },
    sources: [
      { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}', exclude: ['secret'] },
      { id: 'events', category: 'usage', type: 'dynamodb', table: WAVE_TABLE, index: 'byUser', partitionKey: 'userId', keyTemplate: '{userId}' },
      {
        id: 'clicks',
        category: 'usage',
        type: 'dynamodb',
        table: WAVE_TABLE,
        index: 'byUser',
        partitionKey: 'userId',
        keyTemplate: '{userId}',
        include: ['eventId', 'userId', 'kind'],
      },
    ],
  };
}

/** Users user-1 … user-N (prefixes collide: user-1, user-10, user-100), each with a profile and 24 events. */
export function waveSeed(exports: number): { users: string[]; seed: Seed } {
  const users = Array.from({ length: exports }, (_, i) => `user-${i + 1}`);
  const padding = 'x'.repeat(200);
  return {
    users,
    seed: {
      tables: {
        Users: users.map((u, n) => ({ userId: { S: u }, email: { S: `${u}@example.com` }, secret: { S: `secret-of-${u}` }, n: { N: String(n) } })),
        [WAVE_TABLE]: users.flatMap((u) => Array.from({ length: 24 }, (_, i) => ({ eventId: { S: `${u}-e${i}` }, userId: { S: u }, kind: { S: 'view' }, detail: { S: padding } }))),
      },
      schemas: { [WAVE_TABLE]: { partitionKey: 'eventId', indexes: { byUser: { partitionKey: 'userId' } } } },
      objects: [],
    },
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

export async function runWave(options: WaveOptions): Promise<WaveReport> {
  mkdirSync(options.dir, { recursive: true });
  const dataMapFile = join(options.dir, 'map.json');
  writeFileSync(dataMapFile, JSON.stringify(waveDataMap(options.budget)));
  const { users, seed } = waveSeed(options.exports);
  let peakRunning = 0;
  // The stack's runner, once it exists: sampled before then, nothing runs.
  const running = { count: () => 0 };
  const sample = () => (peakRunning = Math.max(peakRunning, running.count()));
  const stack = await EmbeddedStack.start({
    dataMapFile,
    maxConcurrentExports: options.cap,
    meterReads: true,
    // Sampled at every task invocation: the moments an execution does anything at all.
    wrapTask: (_task, handler) => (event, context) => {
      sample();
      return handler(event, context);
    },
  });
  running.count = () => stack.workflow.runningCount();
  const sampler = setInterval(sample, 10);
  try {
    await stack.loadSeed(seed);
    const tokens = await Promise.all(users.map((u) => stack.signIn(u)));
    const refused: Record<string, number> = {};
    let waited = 0;
    let inFlight = 0;
    const freed: (() => void)[] = [];
    const began = Date.now();
    const started = await Promise.all(
      tokens.map(async (token, index) => {
        // Each at its moment of the schedule; a request is a load generator's arrival, not a wait for a condition.
        await new Promise((resolve) => setTimeout(resolve, (index * options.arrivalMs) / options.exports));
        while (inFlight >= options.inFlight) await new Promise<void>((resolve) => freed.push(resolve));
        inFlight += 1;
        try {
          const response = await fetch(`${stack.baseUrl}/exports`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: '{"format":"json"}',
          });
          const body = (await response.json()) as { exportId: string; queue: { ahead: number } | null };
          if (response.status !== 202) refused[String(response.status)] = (refused[String(response.status)] ?? 0) + 1;
          if (body.queue) waited += 1;
          return body.exportId;
        } finally {
          inFlight -= 1;
          freed.shift()?.();
        }
      }),
    );
    const requestedMs = Date.now() - began;
    const finished = await Promise.all(started.map((exportId) => stack.waitForExport(exportId)));
    const wallMs = Date.now() - began;
    const statuses: Record<string, number> = {};
    for (const { job } of finished) statuses[job.status] = (statuses[job.status] ?? 0) + 1;
    const archives: string[] = [];
    for (const [index, userId] of users.entries()) {
      const exportId = finished[index]?.job.exportId ?? '';
      const path = join(options.dir, `${userId}.zip`);
      if (finished[index]?.job.status === 'READY') writeFileSync(path, (await stack.inbox.downloadFromEmail(`${userId}@example.com`, exportId)).zip);
      archives.push(path);
    }
    const meter = stack.readMeter as NonNullable<EmbeddedStack['readMeter']>;
    const toReady = finished.map((f) => Date.parse(f.job.completedAt ?? '') - Date.parse(f.job.receivedAt)).sort((a, b) => a - b);
    return {
      exports: options.exports,
      cap: options.cap,
      budget: options.budget,
      requestedMs,
      refused,
      waited,
      statuses,
      peakRunning,
      peakReadUnitsPerSecond: meter.peakPerSecond(WAVE_TABLE),
      readUnitsPerExport: meter.total(WAVE_TABLE) / options.exports,
      p50Ms: percentile(toReady, 50),
      p95Ms: percentile(toReady, 95),
      wallMs,
      users,
      archives,
    };
  } finally {
    clearInterval(sampler);
    await stack.stop();
  }
}
