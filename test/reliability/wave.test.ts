// A wave of requests on the embedded stack (bench/wave.ts): users ask for their data through the account
// page's API, faster than a read budget lets their exports run, with admission capped at 20. Every export
// must complete with exactly its own user's records and nobody else's; running executions, sampled at
// every task invocation and every 10 ms, never exceed the cap; the read units the Events table consumed,
// as the DynamoDB emulator counted them when it served each read, never exceed its budget in any second.
// npm test runs the wave at a size that fits the suite; `npm run bench` runs 500 requests in a minute.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDataMap, type DynamoDbSource } from '../../lambdas/core/data-map/data-map.ts';
import { readArchive } from '../../local/archive-reader.ts';
import { runWave, WAVE_TABLE, waveDataMap, waveSeed } from '../../bench/wave.ts';
import { canonicalItem, expectedItems, parseExportJson, sortRecords, type Canonical } from '../support/expectations.ts';
import { report } from '../support/reliability.ts';

const WAVE = { exports: 150, cap: 20, budget: 10, arrivalMs: 30_000, inFlight: 8 };

describe('a wave of requests', () => {
  it(
    `${WAVE.exports} exports asked for in ${WAVE.arrivalMs / 1000} s: at most ${WAVE.cap} at once, ${WAVE_TABLE} within its read budget, each exactly its user's data`,
    { timeout: 300_000 },
    async (context) => {
      const dir = mkdtempSync(join(tmpdir(), 'wave-'));
      const wave = await runWave({ ...WAVE, dir });
      expect(wave.refused).toEqual({});
      expect(wave.requestedMs).toBeLessThan(60_000);
      expect(wave.statuses).toEqual({ READY: WAVE.exports });
      // The wave outran the budget: exports waited for a slot, and the slots were all taken at some moment.
      expect(wave.waited).toBeGreaterThan(0);
      expect(wave.peakRunning).toBe(WAVE.cap);
      expect(wave.readUnitsPerExport).toBeGreaterThan(0);
      expect(wave.peakReadUnitsPerSecond).toBeLessThanOrEqual(WAVE.budget);

      const dataMap = parseDataMap(waveDataMap(WAVE.budget));
      const { seed } = waveSeed(WAVE.exports);
      let lost = 0;
      let leaks = 0;
      for (const [index, userId] of wave.users.entries()) {
        const entries = await readArchive(wave.archives[index] ?? '');
        for (const source of dataMap.sources as DynamoDbSource[]) {
          const expected = sortRecords(expectedItems(seed, source, userId).map(canonicalItem));
          const actual = sortRecords(parseExportJson(entries.get(`${source.category}/${source.id}.json`)?.toString() ?? '[]') as Canonical[]);
          const key = (r: Canonical) => JSON.stringify(r);
          const found = new Set(actual.map(key));
          lost += expected.filter((r) => !found.has(key(r))).length + (actual.length - found.size);
          leaks += actual.filter((r) => (r as Record<string, Canonical>)[source.partitionKey] !== userId).length;
        }
        // No trace of any other user anywhere in the archive, not even user-10 inside user-1's.
        const others = new RegExp(`(?:user-(?!${userId.slice(5)}\\b)\\d+\\b)`);
        for (const [name, content] of entries) if (name !== 'manifest.json' && name !== 'index.html' && others.test(content.toString('utf8'))) leaks += 1;
        expect((entries.get('account/profile.json')?.toString() ?? '').includes('secret-of')).toBe(false);
      }
      expect(lost).toBe(0);
      expect(leaks).toBe(0);

      const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      report(context, {
        kind: `A wave: ${wave.exports} requests in ${seconds(wave.requestedMs)}, cap ${wave.cap}`,
        cases: wave.exports,
        outcome:
          `${wave.statuses.READY} READY, ${wave.waited} waited for a slot; peak ${wave.peakRunning} running; ` +
          `${WAVE_TABLE} peak ${wave.peakReadUnitsPerSecond.toFixed(1)} RU/s (budget ${wave.budget}), ${wave.readUnitsPerExport.toFixed(1)} RU/export; ` +
          `request to READY p50 ${seconds(wave.p50Ms)}, p95 ${seconds(wave.p95Ms)}`,
        recordsLost: lost,
        leaks,
      });
    },
  );
});
