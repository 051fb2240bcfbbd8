// An export's failure, whichever way it comes: MarkFailed from the state machine's Catch, or
// ExecutionEnded for an execution that ended outside it (timed out, stopped). The job is FAILED with
// the reason, staging and unfinished archive parts removed, the lock freed, and the user told once.
import { deleteArchive, deleteStaging } from '../storage/export-bucket.ts';
import { renderFailedEmail, sendEmail } from '../delivery/email.ts';
import type { Job, JobStore } from '../jobs/job-store.ts';
import type { LogSink } from '../platform/observability.ts';
import type { Clock } from '../platform/clock.ts';
import type { WorkflowInput } from './export-lifecycle.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { parseEnv, pickEnv } from '../platform/config.ts';
import { JOB_STORE_ENV, jobStoreFrom } from '../jobs/job-store.ts';
import type { Runtime } from '../runtime.ts';

export interface FailureDeps {
  jobs: JobStore;
  s3: S3Client;
  bucket: string;
  ses: SESv2Client;
  sender: string;
  now: Clock;
  logger?: LogSink;
}

/** What closing a failed export needs (MarkFailed and ExecutionEnded alike), from a function's Runtime. */
export function failureDeps(runtime: Runtime): FailureDeps {
  const config = parseEnv(pickEnv(...JOB_STORE_ENV, 'EXPORT_BUCKET', 'SENDER_EMAIL'), runtime.env);
  return {
    jobs: jobStoreFrom(runtime.client(DynamoDBClient), config, runtime.clock),
    s3: runtime.client(S3Client),
    bucket: config.EXPORT_BUCKET,
    ses: runtime.client(SESv2Client),
    sender: config.SENDER_EMAIL,
    logger: runtime.logger,
    now: runtime.clock,
  };
}

export interface FailureInput {
  exportId: string;
  userId: string;
  error?: { Error?: string; Cause?: string };
}

/** What a user is told, by the kind of failure; the technical detail stays in the job row and logs. */
const EXPLANATIONS: Record<string, string> = {
  SourceReadError: 'We could not read part of your data after several tries, so we stopped rather than send you an incomplete copy.',
  SourceUnavailableError: 'One of the places where we keep your data could not be reached, so we stopped rather than send you an incomplete copy.',
  ArchiveWriteError: 'We could not build the archive of your data.',
  DeliveryError: 'Your archive was built, but we could not email you the download link.',
  'States.Timeout': 'Your export took longer than we allow and was stopped.',
  InvalidRequestError: 'Your export request could not be processed.',
};
const DEFAULT_EXPLANATION = 'Something went wrong on our side while preparing your data.';

export function explainFailure(error: FailureInput['error']): { explanation: string; technical: string } {
  const name = error?.Error ?? 'Unknown';
  let detail = error?.Cause ?? '';
  // Lambda failures arrive as a JSON Cause ({errorType, errorMessage, trace}); keep only the message.
  try {
    const parsed = JSON.parse(detail) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') detail = parsed.errorMessage;
  } catch {
    // A plain-text cause is already the message.
  }
  const explanation = EXPLANATIONS[name] ?? DEFAULT_EXPLANATION;
  return { explanation: `${explanation} Our team has been alerted.`, technical: `${name}: ${detail}`.slice(0, 2000) };
}

/** Execution endings that EventBridge reports to ExecutionEnded: each frees an admission slot. */
export const EXECUTION_ENDINGS = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;
/** The endings the Catch may not have seen, which ExecutionEnded closes as MarkFailed would. */
export const UNHANDLED_ENDINGS = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type UnhandledEnding = (typeof UNHANDLED_ENDINGS)[number];
export type ExecutionEnding = (typeof EXECUTION_ENDINGS)[number];

const ENDING_ERRORS: Record<UnhandledEnding, { Error: string; Cause: string }> = {
  FAILED: { Error: 'States.Failed', Cause: 'The execution failed outside its failure path.' },
  TIMED_OUT: { Error: 'States.Timeout', Cause: 'The execution was timed out.' },
  ABORTED: { Error: 'States.Aborted', Cause: 'The execution was stopped.' },
};

/**
 * An execution ended FAILED, TIMED_OUT or ABORTED. Timeouts, stops and failures outside the Catch
 * (States.Runtime, States.DataLimitExceeded, MarkFailed out of retries) never reach MarkFailed, so this
 * closes the job as MarkFailed would, but only while it is still QUEUED or RUNNING: an export that
 * MarkFailed already closed (its execution then ends FAILED too) or that was cancelled is not closed,
 * mailed or audited twice. Staging and the lock are released either way; both steps are idempotent.
 * EventBridge calls this in AWS (ExecutionEnded); the local runner calls the same handler.
 */
export async function closeEndedExecution(
  input: WorkflowInput,
  status: UnhandledEnding,
  deps: FailureDeps,
): Promise<{ exportId: string; status: 'FAILED' | 'UNCHANGED'; userNotified: boolean }> {
  const now = deps.now();
  const { explanation, technical } = explainFailure(ENDING_ERRORS[status]);
  const job = await deps.jobs.get(input.exportId);
  let closed = false;
  if (job) {
    try {
      await deps.jobs.update(
        job.exportId,
        { status: 'FAILED', failureReason: technical, failureMessage: explanation, completedAt: now.toISOString() },
        { statusIn: ['QUEUED', 'RUNNING'] },
      );
      closed = true;
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
  await deps.jobs.releaseLock(input.userId, input.exportId);
  let userNotified = false;
  if (job && closed) {
    userNotified = await notifyFailure(job, explanation, deps);
    await deps.jobs.audit({ userId: job.userId, exportId: job.exportId, action: 'fail', actor: { id: 'system', role: 'operator' }, detail: technical });
  }
  // Last: its size grows with the export, and everything a person waits for is done before it. An
  // archive that was built (its key is on the job) stays for a resend; parts of an unfinished one go.
  await deleteStaging(deps.s3, deps.bucket, input.exportId);
  if (!job?.archiveKey) await deleteArchive(deps.s3, deps.bucket, input.exportId);
  return { exportId: input.exportId, status: closed ? 'FAILED' : 'UNCHANGED', userNotified };
}

/** Tells the user their export failed; a failed email is logged, never a second error (the job row already says FAILED). */
async function notifyFailure(job: Job, explanation: string, deps: FailureDeps): Promise<boolean> {
  if (!job.notifyEmail) return false;
  try {
    await sendEmail(deps.ses, deps.sender, job.notifyEmail, renderFailedEmail(job.exportId, explanation));
    return true;
  } catch (error) {
    // The job row already says FAILED and the user sees it on the account page; the alarm on failed
    // executions tells operators. Failing here would only hide that state behind a second error.
    deps.logger?.warn('Could not email the failure notice', error as Error);
    return false;
  }
}

export async function markFailed(input: FailureInput, deps: FailureDeps): Promise<{ exportId: string; status: 'FAILED' | 'CANCELLED'; userNotified: boolean }> {
  const now = deps.now();
  const { explanation, technical } = explainFailure(input.error);
  const job = await deps.jobs.get(input.exportId);
  // A cancelled export stays cancelled; everything else that reaches here has failed.
  const cancelled = job?.status === 'CANCELLED';
  if (job && !cancelled) {
    await deps.jobs.update(job.exportId, { status: 'FAILED', failureReason: technical, failureMessage: explanation, completedAt: now.toISOString() });
  }
  // The lock and the user first; the staging cleanup, whose size grows with the export, comes last.
  await deps.jobs.releaseLock(input.userId, input.exportId);
  const userNotified = job && !cancelled ? await notifyFailure(job, explanation, deps) : false;
  // A cancel was audited when it was asked for; its execution ending is not a second event.
  if (job && !cancelled) {
    await deps.jobs.audit({ userId: job.userId, exportId: job.exportId, action: 'fail', actor: { id: 'system', role: 'operator' }, detail: technical });
  }
  await deleteStaging(deps.s3, deps.bucket, input.exportId);
  // Parts an earlier BundleArchive call finished belong to an archive that will never be delivered. An
  // archive that was built (its key is on the job) stays: a resend can still deliver it.
  if (!job?.archiveKey) await deleteArchive(deps.s3, deps.bucket, input.exportId);
  return { exportId: input.exportId, status: cancelled ? 'CANCELLED' : 'FAILED', userNotified };
}
