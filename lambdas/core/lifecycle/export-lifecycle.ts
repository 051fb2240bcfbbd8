// An export's life outside the collect/archive work: start (job row, lock, workflow), prepare (plan the
// sources, find the recipient) and deliver (READY, signed link, email); its failures are in
// export-failure.ts. Each takes its dependencies as arguments.
import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { randomUUID } from 'node:crypto';
import type { BuiltArchive } from '../archive/build-archive.ts';
import { userQuery } from '../collect/connectors/dynamodb/collector.ts';
import type { CollectorFunction } from '../data-map/connector.ts';
import { connectorOf, recipientOf, selectSources, type DataMap } from '../data-map/data-map.ts';
import { renderReadyEmail, sendEmail } from '../delivery/email.ts';
import { InvalidRequestError } from '../platform/errors.ts';
import { newExportId, userIdSchema, type Format } from '../data-map/identifiers.ts';
import type { Actor, Job, JobStore } from '../jobs/job-store.ts';
import { issueToken, type LinkSigner } from '../delivery/link-token.ts';
import { CATEGORIES, type Category } from '../data-map/privacy-policy.ts';
import type { MetricSink } from '../platform/observability.ts';
import { requestFacts, type RequestFacts } from '../archive/about-this-export.ts';
import type { TimeRange } from '../collect/reading.ts';
import type { Clock } from '../platform/clock.ts';
import { admitWaiting } from './admission.ts';

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
  since?: string;
  until?: string;
  /** Where to send the link; when absent it is looked up through the data map's recipient. */
  email?: string;
  actor: Actor;
}

export interface LifecycleSettings {
  /** Days an archive (and its job row) is kept. */
  retentionDays: number;
  /** Days within which a request must be answered: each job's dueBy is its receivedAt plus this. */
  responseDays: number;
  /** Executions that may run at once; further exports wait as QUEUED (admission.ts). */
  maxConcurrentExports: number;
}

const DAY_SECONDS = 86_400;

export async function startExport(request: StartRequest, deps: { jobs: JobStore; workflow: Workflow; dataMap: DataMap; settings: LifecycleSettings; now: Clock }): Promise<Job> {
  const userId = userIdSchema.safeParse(request.userId);
  if (!userId.success) throw new InvalidRequestError(`The user id ${userId.error.issues[0]?.message ?? 'is invalid'}.`);
  for (const category of request.categories ?? []) {
    if (!CATEGORIES.includes(category)) throw new InvalidRequestError(`"${category}" is not a data category; use one of ${CATEGORIES.join(', ')}.`);
  }
  if (request.categories && selectSources(deps.dataMap, request.categories).length === 0) {
    const held = CATEGORIES.filter((c) => deps.dataMap.sources.some((s) => s.category === c));
    throw new InvalidRequestError(`We hold no data in ${request.categories.map((c) => `"${c}"`).join(', ')}; choose among ${held.join(', ')}.`);
  }
  if (request.actor.role === 'support' && !request.actor.reason?.trim()) {
    throw new InvalidRequestError('Support exports need a reason, such as the ticket number.');
  }
  const now = deps.now();
  const exportId = newExportId();
  const job = await deps.jobs.create({
    exportId,
    receivedAt: now.toISOString(),
    dueBy: new Date(now.getTime() + deps.settings.responseDays * DAY_SECONDS * 1000).toISOString(),
    userId: userId.data,
    requestedBy: request.actor,
    formats: request.formats,
    categories: request.categories,
    since: request.since,
    until: request.until,
    notifyEmail: request.email,
    ttl: Math.floor(now.getTime() / 1000) + (deps.settings.retentionDays + 30) * DAY_SECONDS,
  });
  await deps.jobs.audit({ userId: job.userId, exportId, action: 'start', actor: request.actor });
  // It waits its turn: admitted now if a slot is free, else when an execution ends and frees one.
  await deps.jobs.admission.enqueue(job);
  await admitWaiting({ jobs: deps.jobs, workflow: deps.workflow, maxConcurrentExports: deps.settings.maxConcurrentExports, now: deps.now });
  return (await deps.jobs.get(exportId)) ?? job;
}

export interface ExportPlan {
  exportId: string;
  userId: string;
  formats: Format[];
  /** The user's date range, handed to every collector (a source without a timeAttribute ignores it). */
  range: TimeRange;
  /** What about-this-export.json says of the request. */
  request: RequestFacts;
  sourceIds: string[];
  /** What the workflow's Map iterates: each source and the function that collects it (its connector's). */
  sources: { sourceId: string; collector: CollectorFunction }[];
  /** Milliseconds from the request to this start: the wait for a slot, which the manifest records. */
  queuedMs: number;
}

export async function prepareExport(input: WorkflowInput, deps: { jobs: JobStore; dataMap: DataMap; dynamodb: DynamoDBClient; now: Clock }): Promise<ExportPlan> {
  const job = await deps.jobs.get(input.exportId);
  if (!job || job.userId !== input.userId) throw new InvalidRequestError(`There is no export ${input.exportId} for user ${input.userId}.`);
  const sources = selectSources(deps.dataMap, job.categories);
  if (sources.length === 0) throw new InvalidRequestError('The data map has no source in the requested categories.');
  const notifyEmail = job.notifyEmail ?? (await findRecipient(deps.dataMap, deps.dynamodb, job.userId));
  if (!notifyEmail) {
    throw new InvalidRequestError(`No email address is on file for user ${job.userId}, so the download link cannot be delivered.`);
  }
  const startedAt = deps.now().toISOString();
  const sourceIds = sources.map((s) => s.id);
  await deps.jobs.update(job.exportId, { status: 'RUNNING', startedAt, notifyEmail, sourceIds }, { statusIn: ['QUEUED', 'RUNNING'] });
  return {
    exportId: job.exportId,
    userId: job.userId,
    formats: job.formats,
    range: { since: job.since ?? null, until: job.until ?? null },
    request: requestFacts(job, deps.dataMap),
    sourceIds,
    sources: sources.map((s) => ({ sourceId: s.id, collector: connectorOf(s).collector })),
    queuedMs: Math.max(0, Date.parse(job.admittedAt ?? startedAt) - Date.parse(job.receivedAt ?? job.createdAt)),
  };
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
  deps: { jobs: JobStore; signer: LinkSigner; ses: SESv2Client; dataMap: DataMap; settings: DeliverySettings; now: Clock; metrics?: MetricSink },
): Promise<{ exportId: string; status: 'READY'; linkExpiresAt: string }> {
  const now = deps.now();
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
