// An export's life outside the collect/archive work: start (job row, lock, workflow), prepare (plan the
// sources, find the recipient), deliver (READY, signed link, email) and fail (FAILED, user told, lock
// freed, staging removed). Each takes its dependencies as arguments.
import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { randomUUID } from 'node:crypto';
import type { BuiltArchive } from '../archive/build-archive.ts';
import { deleteArchive, deleteStaging } from '../storage/export-bucket.ts';
import { userQuery } from '../collect/dynamodb-source.ts';
import { recipientOf, selectSources, type DataMap } from '../data-map/data-map.ts';
import { renderFailedEmail, renderReadyEmail, sendEmail } from '../delivery/email.ts';
import { InvalidRequestError } from '../platform/errors.ts';
import { newExportId, userIdSchema, type Format } from '../data-map/identifiers.ts';
import type { Actor, Job, JobStore } from '../jobs/job-store.ts';
import { issueToken, type LinkSigner } from '../delivery/link-token.ts';
import { CATEGORIES, type Category } from '../data-map/privacy-policy.ts';
import type { LogSink, MetricSink } from '../platform/observability.ts';
import { currentTime } from '../platform/clock.ts';

/** Runs the workflow of an export: Step Functions in AWS, the local runner in the embedded stack. */
export interface Workflow {
  start(exportId: string, input: WorkflowInput): Promise<void>;
  /** Stops a running execution; no error when it already ended. */
  stop(exportId: string): Promise<void>;
}

export interface WorkflowInput {
  exportId: string;
  userId: string;
}

export interface StartRequest {
  userId: string;
  formats: Format[];
  categories?: Category[];
  /** Where to send the link; when absent it is looked up through the data map's recipient. */
  email?: string;
  actor: Actor;
}

export interface LifecycleSettings {
  /** Days an archive (and its job row) is kept. */
  retentionDays: number;
}

const DAY_SECONDS = 86_400;

export async function startExport(
  request: StartRequest,
  deps: { jobs: JobStore; workflow: Workflow; dataMap: DataMap; settings: LifecycleSettings; now?: () => Date },
): Promise<Job> {
  const userId = userIdSchema.safeParse(request.userId);
  if (!userId.success) throw new InvalidRequestError(`The user id ${userId.error.issues[0]?.message ?? 'is invalid'}.`);
  for (const category of request.categories ?? []) {
    if (!CATEGORIES.includes(category)) throw new InvalidRequestError(`"${category}" is not a data category; use one of ${CATEGORIES.join(', ')}.`);
  }
  if (request.actor.role === 'support' && !request.actor.reason?.trim()) {
    throw new InvalidRequestError('Support exports need a reason, such as the ticket number.');
  }
  const now = currentTime(deps.now);
  const exportId = newExportId();
  const job = await deps.jobs.create({
    exportId,
    userId: userId.data,
    requestedBy: request.actor,
    formats: request.formats,
    categories: request.categories,
    notifyEmail: request.email,
    ttl: Math.floor(now.getTime() / 1000) + (deps.settings.retentionDays + 30) * DAY_SECONDS,
  });
  await deps.jobs.audit({ userId: job.userId, exportId, action: 'start', actor: request.actor });
  try {
    await deps.workflow.start(exportId, { exportId, userId: job.userId });
  } catch (error) {
    await deps.jobs.update(exportId, { status: 'FAILED', failureReason: `Could not start the workflow: ${(error as Error).message}` });
    await deps.jobs.releaseLock(job.userId, exportId);
    throw error;
  }
  return job;
}

export interface ExportPlan {
  exportId: string;
  userId: string;
  formats: Format[];
  sourceIds: string[];
}

export async function prepareExport(input: WorkflowInput, deps: { jobs: JobStore; dataMap: DataMap; dynamodb: DynamoDBClient; now?: () => Date }): Promise<ExportPlan> {
  const job = await deps.jobs.get(input.exportId);
  if (!job || job.userId !== input.userId) throw new InvalidRequestError(`There is no export ${input.exportId} for user ${input.userId}.`);
  const sources = selectSources(deps.dataMap, job.categories);
  if (sources.length === 0) throw new InvalidRequestError('The data map has no source in the requested categories.');
  const notifyEmail = job.notifyEmail ?? (await findRecipient(deps.dataMap, deps.dynamodb, job.userId));
  if (!notifyEmail) {
    throw new InvalidRequestError(`No email address is on file for user ${job.userId}, so the download link cannot be delivered.`);
  }
  const startedAt = currentTime(deps.now).toISOString();
  const sourceIds = sources.map((s) => s.id);
  await deps.jobs.update(job.exportId, { status: 'RUNNING', startedAt, notifyEmail, sourceIds }, { statusIn: ['QUEUED', 'RUNNING'] });
  return { exportId: job.exportId, userId: job.userId, formats: job.formats, sourceIds };
}

/**
 * The user's email address on file: the data map's `recipient`, or else an `email` attribute of the
 * first account source. Read with the same Query permission the export already has.
 */
export async function findRecipient(dataMap: DataMap, dynamodb: DynamoDBClient, userId: string): Promise<string | undefined> {
  const recipient = recipientOf(dataMap);
  if (!recipient) return undefined;
  const page = await dynamodb.send(new QueryCommand({ ...userQuery(recipient.source, userId), Limit: 25 }));
  return page.Items?.map((item) => item[recipient.attribute]?.S).find((v) => v !== undefined && v.includes('@'));
}

/** SendLink's input is BundleArchive's output. */
export type DeliverRequest = Omit<BuiltArchive, 'done' | 'resume'>;

export interface DeliverySettings {
  sender: string;
  /** Base URL of the download endpoint, e.g. https://api.example.com */
  publicBaseUrl: string;
  linkTtlSeconds: number;
}

export async function deliverLink(
  request: DeliverRequest,
  deps: { jobs: JobStore; signer: LinkSigner; ses: SESv2Client; dataMap: DataMap; settings: DeliverySettings; now?: () => Date; metrics?: MetricSink },
): Promise<{ exportId: string; status: 'READY'; linkExpiresAt: string }> {
  const now = currentTime(deps.now);
  const job = await deps.jobs.get(request.exportId);
  if (!job?.notifyEmail) throw new InvalidRequestError(`Export ${request.exportId} has no recipient.`);
  const { link, linkId, expiresAt } = await newDownloadLink(job, deps.signer, deps.settings, now);
  await deps.jobs.update(
    job.exportId,
    {
      status: 'READY',
      archiveKey: request.archiveKey,
      archiveBytes: request.archiveBytes,
      archiveParts: request.archiveParts,
      fileCount: request.fileCount,
      linkId,
      linkExpiresAt: expiresAt.toISOString(),
      completedAt: now.toISOString(),
    },
    { statusIn: ['RUNNING', 'READY'] },
  );
  try {
    await sendEmail(
      deps.ses,
      deps.settings.sender,
      job.notifyEmail,
      renderReadyEmail({
        exportId: job.exportId,
        link,
        linkExpiresAt: expiresAt,
        archiveBytes: request.archiveBytes,
        archiveParts: request.archiveParts,
        records: request.records,
        dataMap: deps.dataMap,
      }),
    );
  } catch (error) {
    deps.metrics?.add('DeliveryFailures', 1);
    throw error;
  }
  deps.metrics?.add('ArchiveBytes', request.archiveBytes);
  await deps.jobs.releaseLock(job.userId, job.exportId);
  await deps.jobs.audit({
    userId: job.userId,
    exportId: job.exportId,
    action: 'ready',
    actor: { id: 'system', role: 'operator' },
    detail: `link valid until ${expiresAt.toISOString()}`,
  });
  return { exportId: job.exportId, status: 'READY', linkExpiresAt: expiresAt.toISOString() };
}

/** A fresh link generation: the job honours only its newest linkId, so older links stop working. */
export async function newDownloadLink(job: Job, signer: LinkSigner, settings: DeliverySettings, now: Date) {
  const linkId = randomUUID();
  const expiresAt = new Date(now.getTime() + settings.linkTtlSeconds * 1000);
  const token = await issueToken(signer, { exportId: job.exportId, userId: job.userId, linkId, expiresAt: Math.floor(expiresAt.getTime() / 1000) });
  const link = `${settings.publicBaseUrl.replace(/\/$/, '')}/exports/${encodeURIComponent(job.exportId)}/download?token=${token}`;
  return { link, linkId, expiresAt };
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

/** Execution endings that EventBridge reports to ExecutionEnded (the ones the Catch may not have seen). */
export const UNHANDLED_ENDINGS = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type UnhandledEnding = (typeof UNHANDLED_ENDINGS)[number];

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
  deps: Parameters<typeof markFailed>[1],
): Promise<{ exportId: string; status: 'FAILED' | 'UNCHANGED'; userNotified: boolean }> {
  const now = currentTime(deps.now);
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
async function notifyFailure(job: Job, explanation: string, deps: Parameters<typeof markFailed>[1]): Promise<boolean> {
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

export async function markFailed(
  input: FailureInput,
  deps: { jobs: JobStore; s3: S3Client; bucket: string; ses: SESv2Client; sender: string; now?: () => Date; logger?: LogSink },
): Promise<{ exportId: string; status: 'FAILED' | 'CANCELLED'; userNotified: boolean }> {
  const now = currentTime(deps.now);
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
