// Read budgets against the DynamoDB emulator: the shared row spaces reservations of many readers at once
// by their cost, gives back only what the last one did not use, and a reader pauses on a throttle (the
// budget with it) rather than failing, until its deadline. The data map names budgets on a source and
// on its table, database, bucket or pool, and each source reads under its own and its store's.
import { CreateTableCommand, DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextPage } from '../../lambdas/core/collect/connectors/dynamodb/collector.ts';
import { BUDGET_SHARE, SourceReads } from '../../lambdas/core/collect/pacing/source-reads.ts';
import { parseDataMap, readBudgetsOf } from '../../lambdas/core/data-map/data-map.ts';
import { BudgetStore } from '../../lambdas/core/jobs/budget-store.ts';
import { SourceReadError } from '../../lambdas/core/platform/errors.ts';
import { startEmulators, type Emulators } from '../../local/emulators.ts';
import { localClientConfig } from '../../local/function-runtime.ts';

let emulators: Emulators;
let store: BudgetStore;

beforeAll(async () => {
  emulators = await startEmulators();
  const dynamodb = new DynamoDBClient(localClientConfig(DynamoDBClient, emulators.endpoints));
  await dynamodb.send(
    new CreateTableCommand({
      TableName: 'Jobs',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  store = new BudgetStore(dynamodb, 'Jobs');
});

afterAll(async () => {
  await emulators?.close();
});

describe('the shared budget row', () => {
  it('gives 20 readers at once back-to-back slots, each as long as its cost, none overlapping', async () => {
    const now = 1_000_000;
    const slots = await Promise.all(Array.from({ length: 20 }, () => store.reserve('spacing', 100, now)));
    const sorted = slots.sort((a, b) => a.startMs - b.startMs);
    expect(sorted[0]?.startMs).toBe(now);
    for (const [i, slot] of sorted.entries()) {
      expect(slot.endMs - slot.startMs).toBe(100);
      expect(slot.startMs).toBe(now + i * 100);
    }
  });

  it('starts an idle budget now, and gives back what the last reservation did not use, never what a later one relies on', async () => {
    const first = await store.reserve('refund', 300, 5_000);
    expect(first).toEqual({ startMs: 5_000, endMs: 5_300 });
    const second = await store.reserve('refund', 300, 5_010);
    expect(second).toEqual({ startMs: 5_300, endMs: 5_600 });
    // The first is no longer the last: giving its unused time back would let the next overlap the second.
    await store.refund('refund', first.endMs, 200);
    expect(await store.reserve('refund', 100, 5_020)).toEqual({ startMs: 5_600, endMs: 5_700 });
    // The last one may.
    await store.refund('refund', 5_700, 50);
    expect(await store.reserve('refund', 100, 5_030)).toEqual({ startMs: 5_650, endMs: 5_750 });
    // After a quiet spell the budget starts again from now, not from its old end.
    expect(await store.reserve('refund', 100, 60_000)).toEqual({ startMs: 60_000, endMs: 60_100 });
  });
});

describe('a source’s reads', () => {
  /** A clock that moves only when the reader waits, so every wait is counted exactly. */
  function pacedReads(budgets: { key: string; perSecond: number }[], deadline = Number.POSITIVE_INFINITY) {
    const clock = { now: 10_000_000 + Math.round(Math.random() * 1_000_000) * 1000, waits: [] as number[] };
    const reads = new SourceReads('events', {
      budgets,
      store,
      now: () => clock.now,
      deadline,
      wait: (ms) => {
        clock.waits.push(ms);
        clock.now += ms;
        return Promise.resolve();
      },
    });
    return { reads, clock };
  }

  it('waits for its budget: reads of 2 units at 10 per second start 250 ms apart (the budget’s share), and says how long it waited', async () => {
    const { reads, clock } = pacedReads([{ key: `rate-${Math.random()}`, perSecond: 10 }]);
    const starts: number[] = [];
    for (let i = 0; i < 5; i += 1) await reads.read(() => Promise.resolve(starts.push(clock.now)), 2);
    const spacing = (2 * 1000) / (10 * BUDGET_SHARE);
    expect(starts.slice(1).map((at, i) => at - (starts[i] as number))).toEqual([spacing, spacing, spacing, spacing]);
    expect(reads.waitedMs).toBe(4 * spacing);
  });

  it('takes from every budget it reads under, and starts when the slowest lets it', async () => {
    const slow = { key: `slow-${Math.random()}`, perSecond: 2 };
    const fast = { key: `fast-${Math.random()}`, perSecond: 100 };
    const { reads, clock } = pacedReads([fast, slow]);
    const begin = clock.now;
    await reads.read(() => Promise.resolve(null), 1);
    await reads.read(() => Promise.resolve(null), 1);
    expect(clock.now - begin).toBe(1000 / (2 * BUDGET_SHARE));
  });

  it('corrects its reservation by what the store says the read cost', async () => {
    const budget = { key: `actual-${Math.random()}`, perSecond: 8 };
    const { reads, clock } = pacedReads([budget]);
    await reads.read(() => Promise.resolve({ consumed: 4 }), { estimate: 1, actual: (r) => r.consumed });
    const begin = clock.now;
    await reads.read(() => Promise.resolve({ consumed: 1 }), { estimate: 1, actual: (r) => r.consumed });
    // The first read cost 4 units, not 1: the next one waits for all 4.
    expect(clock.now - begin).toBe((4 * 1000) / (8 * BUDGET_SHARE));
  });

  it('pauses on a throttle and reads again, without failing; the budget is held back for every reader of it', async () => {
    const budget = { key: `throttle-${Math.random()}`, perSecond: 1000 };
    const { reads, clock } = pacedReads([budget]);
    let calls = 0;
    const throttled = () => new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });
    const result = await reads.read(() => (++calls <= 3 ? Promise.reject(throttled()) : Promise.resolve('page')), 1);
    expect(result).toBe('page');
    expect(calls).toBe(4);
    const paused = clock.waits.filter((ms) => ms >= 100);
    expect(paused.length).toBe(3);
    // Doubling pauses (with jitter in their upper half): 200, 400, 800 ms at most.
    paused.forEach((ms, i) => expect(ms).toBeLessThanOrEqual(200 * 2 ** i));
    // Another reader of the budget starts after the pauses, not before.
    const other = await store.reserve(budget.key, 1, clock.now - 1000);
    expect(other.startMs).toBeGreaterThanOrEqual(clock.now);
  });

  it('a throttle that outlasts the call’s deadline is a failed read, named for the workflow to retry', async () => {
    const { reads, clock } = pacedReads([], 0);
    clock.now = 0;
    const throttled = new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });
    await expect(reads.read(() => Promise.reject(throttled), 1)).rejects.toBeInstanceOf(SourceReadError);
  });

  it('sizes DynamoDB pages to an eighth of a second of the budget, by what the items cost', () => {
    expect(nextPage({ unitsPerRead: undefined }, undefined)).toEqual({ estimate: 0.5 });
    // Nothing known yet: a small first page, reserved as a whole eighth of a second.
    expect(nextPage({ unitsPerRead: 8 }, undefined)).toEqual({ limit: 25, estimate: 8 });
    // 0.05 units an item: 160 items for 8 units.
    expect(nextPage({ unitsPerRead: 8 }, 0.05)).toEqual({ limit: 160, estimate: 8 });
    // Items dearer than the eighth of a second: one at a time.
    expect(nextPage({ unitsPerRead: 1 }, 4)).toEqual({ limit: 1, estimate: 4 });
  });
});

describe('budgets in the data map', () => {
  const map = parseDataMap({
    tables: { Events: { maxReadUnitsPerSecond: 50 } },
    buckets: { uploads: { maxRequestsPerSecond: 20 } },
    databases: { shop: { engine: 'postgres', database: 'shop', maxRowsPerSecond: 500 } },
    userPools: { customers: { maxRequestsPerSecond: 5 } },
    sources: [
      { id: 'events', category: 'usage', type: 'dynamodb', table: 'Events', partitionKey: 'userId', keyTemplate: '{userId}', maxReadUnitsPerSecond: 10 },
      { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' },
      { id: 'files', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
      { id: 'orders', category: 'payment', type: 'postgres', database: 'shop', table: 'orders', userColumn: 'buyer', orderBy: ['id'], maxRowsPerSecond: 100 },
      { id: 'identity', category: 'account', type: 'cognito', userPool: 'customers', match: 'username' },
    ],
  });
  const budgetsOf = (id: string) => readBudgetsOf(map, map.sources.find((s) => s.id === id) ?? (undefined as never));

  it('gives each source its own budget and its store’s, and none to a source that sets neither', () => {
    expect(budgetsOf('events')).toEqual([
      { key: 'source:events', perSecond: 10 },
      { key: 'dynamodb:Events', perSecond: 50 },
    ]);
    expect(budgetsOf('profile')).toEqual([]);
    expect(budgetsOf('files')).toEqual([{ key: 's3:uploads', perSecond: 20 }]);
    expect(budgetsOf('orders')).toEqual([
      { key: 'source:orders', perSecond: 100 },
      { key: 'postgres:shop', perSecond: 500 },
    ]);
    expect(budgetsOf('identity')).toEqual([{ key: 'cognito:customers', perSecond: 5 }]);
  });

  it('refuses a budget that is not a positive rate, or in the wrong unit for its store, naming where', () => {
    const bad = () =>
      parseDataMap({
        tables: { Events: { maxReadUnitsPerSecond: 0 } },
        sources: [{ id: 'events', category: 'usage', type: 'dynamodb', table: 'Events', partitionKey: 'userId', keyTemplate: '{userId}', maxRowsPerSecond: 5 }],
      });
    expect(bad).toThrow(/tables\.Events\.maxReadUnitsPerSecond: must be a positive number per second/);
    expect(bad).toThrow(/sources\[0\] \(events\)|maxRowsPerSecond/);
  });
});
