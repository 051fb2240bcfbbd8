// The daily sweep over open requests (the jobs table's sparse open-requests index): what no event
// settles by itself. A READY export past its retention becomes EXPIRED, as a download or the API would
// make it; an export still QUEUED or RUNNING after the state machine's timeout has no execution left
// (ExecutionEnded missed its ending), so it is closed as ExecutionEnded closes a timed-out one; and the
// requests still unanswered near their dueBy are counted for the ExportsNearDue alarm. Last, admission
// slots whose ending never reached ExecutionEnded are freed, and waiting exports admitted.
import type { Job } from '../jobs/job-model.ts';
import { applyRetention } from '../jobs/retention.ts';
import type { MetricSink } from '../platform/observability.ts';
import { closeEndedExecution, type FailureDeps } from './export-failure.ts';
import { reconcileSlots } from './admission.ts';
import type { Workflow } from './export-lifecycle.ts';

export interface SweepSettings {
  retentionDays: number;
  /** The export state machine's TimeoutSeconds, as the template passes it (never a copy of the number). */
  executionTimeoutSeconds: number;
  /** Hours before its dueBy from which an unanswered request counts. */
  dueAlarmHours: number;
}

export type SweepDeps = FailureDeps & { settings: SweepSettings & { maxConcurrentExports: number }; metrics: MetricSink; workflow: Workflow };

/**
 * How long after the machine's timeout an export must still be open before the sweeper closes it. Its
 * execution starts a moment after the job row is written, so createdAt + timeout falls just before the
 * execution's own end; the grace keeps the sweeper off an execution in its last seconds, and gives
 * ExecutionEnded (the usual path) the first go.
 */
export const TIMEOUT_GRACE_MS = 15 * 60_000;

export interface SweepResult {
  /** Open requests read from the index. */
  open: number;
  /** READY exports turned EXPIRED. */
  expired: string[];
  /** Exports closed as FAILED because they outlived the state machine's timeout. */
  failed: string[];
  /** FAILED exports a later export of the same user answers instead: out of the index. */
  settled: string[];
  /** Requests not answered within dueAlarmHours of their dueBy (the ExportsNearDue metric). */
  nearDue: string[];
  /** Admission slots held by exports that had ended: freed. */
  slotsFreed: string[];
  /** Waiting exports started with the slots free after the sweep. */
  admitted: string[];
}

/**
 * Whether a request counts toward ExportsNearDue: its dueBy is less than dueAlarmHours away (or past)
 * and it has no answer yet. READY is an answer, and so is EXPIRED (answered; the archive's time then ran
 * out). CANCELLED is not counted: the request was withdrawn, by the user or by support on their behalf
 * with a reason in the audit trail. FAILED is counted: the user was told, but their request is still
 * unanswered until a later export of theirs stands in for it (the sweep then settles the failed one).
 */
export function isUnansweredNearDue(job: Job, now: Date, dueAlarmHours: number): boolean {
  if (!['QUEUED', 'RUNNING', 'FAILED'].includes(job.status)) return false;
  return now.getTime() >= Date.parse(job.dueBy) - dueAlarmHours * 3_600_000;
}

export async function sweepExports(deps: SweepDeps): Promise<SweepResult> {
  const now = deps.now();
  const result: SweepResult = { open: 0, expired: [], failed: [], settled: [], nearDue: [], slotsFreed: [], admitted: [] };
  for await (const page of deps.jobs.openRequests()) {
    for (const job of page) {
      result.open += 1;
      const swept = await sweepOne(job, now, deps, result);
      if (swept && isUnansweredNearDue(swept, now, deps.settings.dueAlarmHours)) result.nearDue.push(swept.exportId);
    }
  }
  const admission = await reconcileSlots({
    jobs: deps.jobs,
    workflow: deps.workflow,
    maxConcurrentExports: deps.settings.maxConcurrentExports,
    now: deps.now,
    logger: deps.logger,
  });
  result.slotsFreed = admission.freed;
  result.admitted = admission.admitted;
  // Published every run, zero included: the alarm reads a missing datapoint as a sweep that did not run.
  deps.metrics.add('ExportsNearDue', result.nearDue.length);
  deps.logger?.info('Swept open export requests', { ...result, nearDueCount: result.nearDue.length });
  return result;
}

/** One open request after the sweep: its job as it now stands, or undefined once it left the index. */
async function sweepOne(job: Job, now: Date, deps: SweepDeps, result: SweepResult): Promise<Job | undefined> {
  switch (job.status) {
    case 'READY': {
      const after = await applyRetention(job, deps.jobs, deps.settings.retentionDays, now);
      if (after.status === 'EXPIRED') result.expired.push(job.exportId);
      return after;
    }
    case 'QUEUED':
    case 'RUNNING': {
      // The machine's timeout runs from the execution's start: an export still waiting for a slot has none.
      // (A row from before admission has no admittedAt and no place in the queue: its execution started with it.)
      if (job.admittedAt === undefined && job.status === 'QUEUED' && (await deps.jobs.admission.isWaiting(job))) return job;
      const started = job.admittedAt ?? job.createdAt;
      if (Date.parse(started) + deps.settings.executionTimeoutSeconds * 1000 + TIMEOUT_GRACE_MS > now.getTime()) return job;
      // The same close as a timed-out execution's: FAILED only while still open, lock freed, user told.
      const closed = await closeEndedExecution({ exportId: job.exportId, userId: job.userId }, 'TIMED_OUT', deps);
      if (closed.status === 'FAILED') result.failed.push(job.exportId);
      return (await deps.jobs.get(job.exportId)) ?? job;
    }
    case 'FAILED': {
      const [latest] = await deps.jobs.listByUser(job.userId, 1);
      if (!latest || latest.exportId === job.exportId || latest.createdAt <= job.createdAt) return job;
      await deps.jobs.settle(job.exportId);
      result.settled.push(job.exportId);
      return undefined;
    }
    default:
      // EXPIRED and CANCELLED rows leave the index with their status; one caught mid-change is not counted.
      return undefined;
  }
}
