// CollectSource's core: read one source of one user into staging parts, for as long as the time budget
// allows, then hand back a cursor. The state machine calls again until `done`. The same input always
// writes the same part key, so a retry after a crash overwrites its own part and counts stay exact.
import { findSource } from '../data-map/data-map.ts';
import { ExportEndedError } from '../platform/errors.ts';
import { ACTIVE_STATUSES, type JobStore } from '../jobs/job-store.ts';
import { deleteStaging } from '../storage/export-bucket.ts';
import type { CollectDeps, CollectRequest, CollectResult } from './reading.ts';
import { collectDynamoDb } from './dynamodb-source.ts';
import { collectS3 } from './s3-source.ts';

export async function collectSource(request: CollectRequest, deps: CollectDeps, deadline: number): Promise<CollectResult> {
  const source = findSource(deps.dataMap, request.sourceId);
  await assertStillActive(request, deps.jobs);
  const result = source.type === 'dynamodb' ? await collectDynamoDb(source, request, deps, deadline) : await collectS3(source, request, deps, deadline);
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

export type { CollectDeps, CollectRequest, CollectResult } from './reading.ts';
