// Admission: at most maxConcurrentExports executions run at once; the rest wait as QUEUED, in arrival
// order, and start as slots free. Nothing polls. An export is admitted when it arrives (if a slot is
// free) and whenever an execution ends: Step Functions reports every ending (SUCCEEDED, FAILED,
// TIMED_OUT, ABORTED) to EventBridge, whose rule invokes ExecutionEnded, which frees that execution's
// slot and admits the oldest waiting exports. The slot is held exactly while an execution exists, so
// every way an export can end (READY, FAILED, CANCELLED, or outside the Catch) frees it the same way.
import type { JobStore, QueueEntry } from '../jobs/job-store.ts';
import { ACTIVE_STATUSES } from '../jobs/job-model.ts';
import type { Clock } from '../platform/clock.ts';
import type { LogSink } from '../platform/observability.ts';
import type { Workflow } from './export-lifecycle.ts';

/** The default cap (the maxConcurrentExports context setting). */
export const DEFAULT_MAX_CONCURRENT_EXPORTS = 50;

export interface AdmissionDeps {
  jobs: JobStore;
  workflow: Workflow;
  maxConcurrentExports: number;
  now: Clock;
  logger?: LogSink;
}

/** What one pass of admission did. */
export interface AdmissionResult {
  /** Exports whose execution this pass started, oldest first. */
  admitted: string[];
  /** Exports that could not start (Step Functions refused): FAILED, their user told by the job row. */
  failed: string[];
}

/**
 * Starts waiting exports, oldest first, while slots are free. Safe to run anywhere at any time and
 * concurrently: a slot is a conditional write, an export is claimed once (admittedAt), and an execution
 * is named after its export, so a second admitter can neither take a second slot nor start it twice.
 */
export async function admitWaiting(deps: AdmissionDeps): Promise<AdmissionResult> {
  const result: AdmissionResult = { admitted: [], failed: [] };
  const queue = deps.jobs.admission;
  for await (const page of queue.waiting()) {
    for (const entry of page) {
      if (!(await queue.acquire(entry.exportId, deps.maxConcurrentExports))) return result;
      const outcome = await admitOne(entry, deps);
      if (outcome === 'started') result.admitted.push(entry.exportId);
      if (outcome === 'failed') result.failed.push(entry.exportId);
    }
  }
  return result;
}

async function admitOne(entry: QueueEntry, deps: AdmissionDeps): Promise<'started' | 'taken' | 'gone' | 'failed'> {
  const queue = deps.jobs.admission;
  const admittedAt = deps.now().toISOString();
  try {
    await deps.jobs.update(entry.exportId, { admittedAt }, { statusIn: ['QUEUED'], unset: 'admittedAt' });
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    const job = await deps.jobs.get(entry.exportId);
    // Another admitter claimed it: the slot acquire found is that admitter's, and so is the queue row.
    if (job && ACTIVE_STATUSES.includes(job.status) && job.admittedAt) return 'taken';
    // Cancelled while it waited, or gone: it needs neither the slot just taken nor its place.
    await queue.release(entry.exportId);
    await queue.dequeue(entry);
    return 'gone';
  }
  try {
    await deps.workflow.start(entry.exportId, { exportId: entry.exportId, userId: entry.userId });
  } catch (error) {
    // The SDK has retried already. The export cannot run: it fails visibly instead of holding a slot.
    deps.logger?.warn('Could not start an admitted export', error as Error);
    await deps.jobs.update(
      entry.exportId,
      {
        status: 'FAILED',
        failureReason: `Could not start the workflow: ${(error as Error).message}`.slice(0, 2000),
        failureMessage: 'We could not start your export. Please try again; our team has been alerted.',
        completedAt: deps.now().toISOString(),
      },
      { statusIn: ['QUEUED'] },
    );
    await deps.jobs.releaseLock(entry.userId, entry.exportId);
    await queue.release(entry.exportId);
    await queue.dequeue(entry);
    return 'failed';
  }
  await queue.dequeue(entry);
  return 'started';
}

/**
 * An execution ended, whichever way: its slot is freed, then the oldest waiting exports take the free
 * slots. ExecutionEnded calls this for every ending Step Functions reports.
 */
export async function releaseAndAdmit(exportId: string, deps: AdmissionDeps): Promise<AdmissionResult> {
  await deps.jobs.admission.release(exportId);
  return admitWaiting(deps);
}

/**
 * Frees slots whose export has ended but whose ending never reached ExecutionEnded (an event that ran
 * out of retries), then admits. The daily sweep runs this; a slot of a live export is never touched.
 */
export async function reconcileSlots(deps: AdmissionDeps): Promise<{ freed: string[] } & AdmissionResult> {
  const freed: string[] = [];
  for (const exportId of await deps.jobs.admission.holders()) {
    const job = await deps.jobs.get(exportId);
    if (job && ACTIVE_STATUSES.includes(job.status)) continue;
    await deps.jobs.admission.release(exportId);
    freed.push(exportId);
  }
  return { freed, ...(await admitWaiting(deps)) };
}
