// How one collect call reads its source's store: each read first takes its cost from the source's read
// budgets (its own, and its table's, database's, bucket's or pool's), shared by every export at once;
// a throttle from the store pauses the read and the budget (slowing every reader of it) instead of
// failing; any other failure becomes the named error the workflow acts on.
import { readPage, type StoreErrorKind } from '../reading.ts';
import type { ReadBudget } from '../../data-map/connector.ts';
import type { BudgetStore } from '../../jobs/budget-store.ts';

/**
 * Reads are spaced for this share of a budget's rate. The rest is headroom for the moments between a
 * collector taking its units and the store serving the read (a scheduling delay, a slow network), so
 * that reads that started late never bunch up past the budget in any second the store measures.
 */
export const BUDGET_SHARE = 0.8;

/** Throttle pauses: first, then doubled up to the last, with full jitter. */
const THROTTLE_PAUSE_MS = { first: 200, max: 10_000 } as const;

/** Store errors that mean "too fast": the store asks to be read more slowly, not that it failed. */
export const THROTTLE_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'Throttling',
]);

export interface SourceReadsDeps {
  budgets: ReadBudget[];
  /** Where the budgets' shared rows are (the jobs table); required when `budgets` is not empty. */
  store?: BudgetStore;
  /** Epoch milliseconds now (the handler's clock). */
  now: () => number;
  /** Waits this long (real time: it is the pacing). */
  wait?: (ms: number) => Promise<void>;
  /** Calls the store after this are not started; a throttled read that reaches it fails as a read error. */
  deadline: number;
  kindOf?: (error: Error) => StoreErrorKind;
}

const realWait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What a read costs, in the budget's unit: known before (`units`), or estimated and then reported by the store. */
export type ReadCost<T> = number | { estimate: number; actual: (result: T) => number };

export class SourceReads {
  /** Milliseconds this call spent waiting for its budgets (and pausing on throttles). */
  waitedMs = 0;
  private readonly wait: (ms: number) => Promise<void>;

  constructor(
    private readonly sourceId: string,
    private readonly deps: SourceReadsDeps,
  ) {
    if (deps.budgets.length > 0 && !deps.store) throw new Error(`Source "${sourceId}" has read budgets but no budget store.`);
    this.wait = deps.wait ?? realWait;
  }

  get paced(): boolean {
    return this.deps.budgets.length > 0;
  }

  /**
   * How many units one read should cost at most: an eighth of a second of the slowest budget's share.
   * Readers of a budget take turns, and a read that straddles the edge of a second the store measures
   * adds at most this to it: kept well inside the headroom BUDGET_SHARE leaves. Undefined: unpaced.
   */
  get unitsPerRead(): number | undefined {
    return this.paced ? (Math.min(...this.deps.budgets.map((b) => b.perSecond)) * BUDGET_SHARE) / 8 : undefined;
  }

  /** One read of the source's store, paced by its budgets, with throttles waited out; `kindOf` names the store's errors (AWS's by default). */
  async read<T>(read: () => Promise<T>, cost: ReadCost<T> = 1, kindOf = this.deps.kindOf): Promise<T> {
    for (let pause: number = THROTTLE_PAUSE_MS.first; ; pause = Math.min(pause * 2, THROTTLE_PAUSE_MS.max)) {
      const estimate = typeof cost === 'number' ? cost : cost.estimate;
      // Unpaced, the read starts at once, in the same turn as its caller (no await in between).
      const reservations = this.paced && estimate > 0 ? await this.take(estimate) : [];
      try {
        const result = await readPage(this.sourceId, read, kindOf);
        if (typeof cost !== 'number') await this.settle(reservations, estimate, cost.actual(result));
        return result;
      } catch (error) {
        const cause = (error as { cause?: unknown }).cause;
        const name = cause instanceof Error ? cause.name : '';
        if (!THROTTLE_ERRORS.has(name) || this.deps.now() + pause > this.deps.deadline) throw error;
        // The store is at its limit: this reader waits, and so does every reader of the same budgets.
        const jittered = Math.round(pause / 2 + Math.random() * (pause / 2));
        await Promise.all(this.deps.budgets.map((b) => (this.deps.store as BudgetStore).charge(b.key, jittered)));
        this.waitedMs += jittered;
        await this.wait(jittered);
      }
    }
  }

  /** Reserves `units` from every budget and waits until all of them let the read start. */
  private async take(units: number): Promise<{ budget: ReadBudget; endMs: number; costMs: number }[]> {
    const now = this.deps.now();
    const reservations = await Promise.all(
      this.deps.budgets.map(async (budget) => {
        const costMs = Math.ceil((units * 1000) / (budget.perSecond * BUDGET_SHARE));
        const reserved = await (this.deps.store as BudgetStore).reserve(budget.key, costMs, now);
        return { budget, costMs, ...reserved };
      }),
    );
    const startMs = Math.max(...reservations.map((r) => r.startMs));
    const waitMs = startMs - this.deps.now();
    if (waitMs > 0) {
      this.waitedMs += waitMs;
      await this.wait(waitMs);
    }
    return reservations;
  }

  /** Corrects reservations by what the store says the read cost: more is charged, less given back where it can be. */
  private async settle(reservations: { budget: ReadBudget; endMs: number; costMs: number }[], estimate: number, actual: number): Promise<void> {
    if (actual === estimate) return;
    await Promise.all(
      reservations.map(({ budget, endMs, costMs }) => {
        const actualMs = Math.ceil((actual * 1000) / (budget.perSecond * BUDGET_SHARE));
        const store = this.deps.store as BudgetStore;
        return actualMs > costMs ? store.charge(budget.key, actualMs - costMs) : store.refund(budget.key, endMs, costMs - actualMs);
      }),
    );
  }
}
