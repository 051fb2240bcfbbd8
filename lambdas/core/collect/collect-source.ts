// CollectSource's core: read one source of one user into staging parts, for as long as the time budget
// allows, then hand back a cursor. The state machine calls again until `done`. The same input always
// writes the same part key, so a retry after a crash overwrites its own part and counts stay exact.
import type * as z from 'zod';
import { connectorOf, findSource, readBudgetsOf } from '../data-map/data-map.ts';
import { SourceReads } from './pacing/source-reads.ts';
import { ExportEndedError, SourceUnavailableError } from '../platform/errors.ts';
import { ACTIVE_STATUSES, type JobStore } from '../jobs/job-store.ts';
import { deleteStaging } from '../storage/export-bucket.ts';
import type { CollectorFunction } from '../data-map/connector.ts';
import type { CONNECTORS } from './connectors/schemas.ts';
import type { CollectCall, CollectDeps, CollectRequest, CollectResult } from './reading.ts';

type Connector = (typeof CONNECTORS)[number];

/** How one store type's source is read: a slice of it into staging, for as long as the deadline allows. */
export type Collector<S> = (source: S, request: CollectRequest, deps: CollectCall, deadline: number) => Promise<CollectResult>;

/**
 * A function's collectors, one per store type it reads: the compiler names a store type that a
 * function should read (its connector's `collector`) and has no collector for.
 */
export type Collectors<F extends CollectorFunction> = {
  [C in Connector as C['collector'] extends F ? C['type'] : never]: Collector<z.infer<C['source']>>;
};

export async function collectSource<F extends CollectorFunction>(request: CollectRequest, deps: CollectDeps, deadline: number, collectors: Collectors<F>): Promise<CollectResult> {
  const source = findSource(deps.dataMap, request.sourceId);
  const collect = (collectors as unknown as Record<string, Collector<typeof source> | undefined>)[source.type];
  if (!collect) throw new SourceUnavailableError(source.id, `Source "${source.id}" (${source.type}) is read by ${connectorOf(source).collector}, not by this function.`);
  await assertStillActive(request, deps.jobs);
  const reads = new SourceReads(source.id, { budgets: readBudgetsOf(deps.dataMap, source), store: deps.jobs.budgets, now: () => deps.now().getTime(), deadline, wait: deps.wait });
  const collected = await collect(source, request, { ...deps, reads }, deadline);
  const result = { ...collected, waitedMs: (request.waitedMs ?? 0) + reads.waitedMs };
  // When another source fails, the workflow moves on to MarkFailed while this call may still be
  // writing. MarkFailed removes staging after marking the job; checking the job after our writes
  // means whichever runs last cleans up, so nothing of an ended export is left behind.
  const job = await deps.jobs.get(request.exportId);
  if (!job || !ACTIVE_STATUSES.includes(job.status)) {
    await deleteStaging(deps.s3, deps.exportBucket.bucket, request.exportId);
    throw new ExportEndedError(request.exportId, job?.status);
  }
  await deps.jobs.recordSourceProgress(request.exportId, request.sourceId, {
    records: result.records,
    parts: result.nextPart,
    done: result.done,
  });
  return result;
}

async function assertStillActive(request: CollectRequest, jobs: JobStore): Promise<void> {
  const job = await jobs.get(request.exportId);
  if (!job || !ACTIVE_STATUSES.includes(job.status)) throw new ExportEndedError(request.exportId, job?.status);
  if (job.userId !== request.userId) throw new ExportEndedError(request.exportId, 'of another user');
}

export type { CollectCall, CollectDeps, CollectRequest, CollectResult } from './reading.ts';
