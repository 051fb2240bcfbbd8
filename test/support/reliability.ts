// What a reliability test reports: one row of the table printed at the end of the run.
import type { TestContext } from 'vitest';

export interface ReliabilityRow {
  /** The fault or input class, e.g. "DynamoDB throttling mid-Query". */
  kind: string;
  /** How many cases (exports, inputs, mutations) were tried. */
  cases: number;
  /** What happened, in a few words. */
  outcome: string;
  /** Records (or files) that were seeded but missing or duplicated in the archives. Must be 0. */
  recordsLost: number;
  /** Records or files of another user found in an archive. Must be 0. */
  leaks: number;
}

declare module 'vitest' {
  interface TaskMeta {
    reliability?: ReliabilityRow;
  }
}

export function report(context: TestContext, row: ReliabilityRow): void {
  context.task.meta.reliability = row;
}
