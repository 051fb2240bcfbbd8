// End to end on the embedded stack: from starting an export to its email in local SES, for the demo
// user and for a user with many usage events (loaded first, not timed).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDemoSeed, DEMO_USER_ID } from '../local/demo-seed.ts';
import { EmbeddedStack } from '../local/embedded-stack.ts';
import type { WireItem } from '../lambdas/core/values/attribute-values.ts';
import { BENCH_USER, benchDataMap, pageSource, type StageResult } from './stages.ts';

async function timeExport(stack: EmbeddedStack, userId: string, email: string): Promise<number> {
  const started = performance.now();
  const job = await stack.startExport({ userId, formats: ['json', 'csv'], email, actor: { id: 'bench', role: 'operator' } });
  const { job: done } = await stack.waitForExport(job.exportId);
  if (done.status !== 'READY' || !(await stack.inbox.emailFor(email, job.exportId))) throw new Error(`the ${userId} export ended ${done.status}`);
  return performance.now() - started;
}

export async function endToEndStage(records: number, workDir: string): Promise<StageResult & { smallUserMs: number; bigUserMs: number }> {
  const small = await EmbeddedStack.start({ dataMapFile: 'config/data-map.json' });
  let smallUserMs: number;
  try {
    await small.loadSeed(buildDemoSeed());
    smallUserMs = await timeExport(small, DEMO_USER_ID, 'ana.ruiz@example.com');
  } finally {
    await small.stop();
  }

  const mapFile = join(workDir, 'bench-map.json');
  writeFileSync(mapFile, JSON.stringify(benchDataMap));
  const big = await EmbeddedStack.start({ dataMapFile: mapFile });
  try {
    const items: WireItem[] = [];
    const source = pageSource(records);
    let start: Record<string, unknown> | undefined;
    do {
      const page = (await source.send({ input: { ExclusiveStartKey: start } } as never)) as { Items: WireItem[]; LastEvaluatedKey?: Record<string, unknown> };
      // Pool pages repeat their ids; give every event its own.
      for (const item of page.Items) items.push({ ...item, eventId: { S: `evt-${String(items.length).padStart(9, '0')}` } });
      start = page.LastEvaluatedKey;
    } while (start);
    await big.loadSeed({ tables: { UsageEvents: items }, schemas: { UsageEvents: { partitionKey: 'eventId', indexes: { byUser: { partitionKey: 'userId' } } } }, objects: [] });
    const bigUserMs = await timeExport(big, BENCH_USER, 'bench@example.com');
    return { stage: 'end to end', records, seconds: bigUserMs / 1000, bytes: 0, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024), smallUserMs, bigUserMs };
  } finally {
    await big.stop();
  }
}
