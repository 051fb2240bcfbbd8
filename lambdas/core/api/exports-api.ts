// What the user and support APIs do, independent of HTTP: start an export as an actor (with the one-
// active-export rule and the self-service cooldown), show and list exports without revealing anything
// that is not the caller's, send a fresh link, cancel a running export, and read the audit trail.
import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import * as z from 'zod';
import { userQuery } from '../collect/connectors/dynamodb/collector.ts';
import { accountSource, type DataMap } from '../data-map/data-map.ts';
import { renderReadyEmail, sendEmail } from '../delivery/email.ts';
import { ConflictError, CooldownError, ExpiredError, ExportInProgressError, NotFoundError } from '../platform/errors.ts';
import { newDownloadLink, startExport, type DeliverySettings, type LifecycleSettings, type Workflow } from '../lifecycle/export-lifecycle.ts';
import { exportIdSchema, formatsFromChoice } from '../data-map/identifiers.ts';
import { ACTIVE_STATUSES, applyRetention, archiveGoneAt, type Actor, type Job, type JobStore } from '../jobs/job-store.ts';
import type { LinkSigner } from '../delivery/link-token.ts';
import { CATEGORIES } from '../data-map/privacy-policy.ts';
import type { Clock } from '../platform/clock.ts';
import { admitWaiting } from '../lifecycle/admission.ts';

/** An ISO 8601 date or time, with a zone (or a date alone, midnight UTC), as UTC with milliseconds. */
const instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], { error: 'must be an ISO 8601 date or time, such as 2026-01-31 or 2026-01-31T09:00:00Z' })
  .transform((text) => new Date(text).toISOString());

export const startBodySchema = z
  .object({
    format: z.enum(['json', 'csv', 'both']).default('both'),
    // At most the eight categories, each once (a repeat is dropped, not stored).
    categories: z
      .array(z.enum(CATEGORIES))
      .min(1)
      .max(CATEGORIES.length, `must list at most the ${CATEGORIES.length} categories, each once`)
      .transform((list) => [...new Set(list)])
      .optional(),
    // A date range for the sources that name a timeAttribute, both ends inclusive; kept in UTC.
    since: instant.optional(),
    until: instant.optional(),
  })
  .strict()
  .refine((body) => body.since === undefined || body.until === undefined || body.since <= body.until, { path: ['until'], message: 'must not be before "since"' });

/** Support must always say why (a ticket number): it is recorded in the audit trail. */
export const reasonSchema = z.string().trim().min(3, 'must say why, e.g. the ticket number').max(500);

export interface ExportsApiDeps {
  jobs: JobStore;
  workflow: Workflow;
  dataMap: DataMap;
  dynamodb: DynamoDBClient;
  settings: LifecycleSettings & { cooldownHours: number };
  delivery: { signer: LinkSigner; ses: SESv2Client; settings: DeliverySettings };
  now: Clock;
}

const nowOf = (deps: { now: Clock }) => deps.now();

/** An export as the API shows it (the CLI reads this type too). */
export type ExportView = ReturnType<typeof publicView>;

/**
 * What a caller sees of an export: status, progress, size and link expiry; never keys or failure
 * internals. `ahead` is how many exports wait before it when it waits for a slot.
 */
export function publicView(job: Job, ahead?: number) {
  return {
    exportId: job.exportId,
    userId: job.userId,
    status: job.status,
    // A QUEUED export waiting for one of the maxConcurrentExports slots, and its place: null once it started.
    queue: ahead === undefined ? null : { ahead },
    formats: job.formats,
    categories: job.categories ?? null,
    since: job.since ?? null,
    until: job.until ?? null,
    requestedBy: { role: job.requestedBy.role },
    createdAt: job.createdAt,
    // The request clock: when the request was received and when its answer is due (null on rows older than it).
    receivedAt: job.receivedAt ?? null,
    dueBy: job.dueBy ?? null,
    updatedAt: job.updatedAt,
    completedAt: job.completedAt ?? null,
    sources: job.sources,
    progress: {
      sourcesTotal: job.sourceIds?.length ?? null,
      sourcesDone: Object.values(job.sources).filter((s) => s.done).length,
      records: Object.values(job.sources).reduce((sum, s) => sum + s.records, 0),
    },
    archiveBytes: job.archiveBytes ?? null,
    archiveParts: job.archiveParts ?? (job.archiveKey ? 1 : null),
    linkExpiresAt: job.linkExpiresAt ?? null,
    failureMessage: job.failureMessage ?? null,
    downloadCount: job.downloadCount ?? 0,
  };
}

/** The view of an export, with its place in the queue while it waits for a slot. */
export async function exportView(job: Job, deps: Pick<ExportsApiDeps, 'jobs'>): Promise<ExportView> {
  const waiting = job.status === 'QUEUED' && job.admittedAt === undefined;
  return publicView(job, waiting ? await deps.jobs.admission.ahead(job) : undefined);
}

/** The user's newest completed self-service export, if it ended within the cooldown. */
async function assertCooldownOver(userId: string, deps: ExportsApiDeps): Promise<void> {
  if (deps.settings.cooldownHours <= 0) return;
  const recent = await deps.jobs.listByUser(userId, 20);
  const last = recent.find((j) => j.status === 'READY' && j.requestedBy.role === 'user' && j.completedAt);
  if (!last?.completedAt) return;
  const availableAt = new Date(Date.parse(last.completedAt) + deps.settings.cooldownHours * 3_600_000);
  if (availableAt > nowOf(deps)) throw new CooldownError(availableAt);
}

/**
 * Starts an export; when the user already has one running, returns that one instead (a double click or a
 * retried request must not queue a second export). Self-service starts wait out the cooldown; support
 * is exempt from it, never from "one active export".
 */
export async function startOrReuse(
  request: { userId: string; body: z.infer<typeof startBodySchema>; email?: string; actor: Actor },
  deps: ExportsApiDeps,
): Promise<{ created: boolean; job: Job }> {
  const active = await activeJob(request.userId, deps.jobs);
  if (active) {
    // A repeated request for an export still waiting is also a nudge: a slot may have freed while no event said so.
    if (active.status === 'QUEUED' && active.admittedAt === undefined) await admitWaiting(admissionOf(deps));
    return { created: false, job: (await deps.jobs.get(active.exportId)) ?? active };
  }
  if (request.actor.role === 'user') await assertCooldownOver(request.userId, deps);
  try {
    const job = await startExport(
      {
        userId: request.userId,
        formats: formatsFromChoice(request.body.format),
        categories: request.body.categories,
        since: request.body.since,
        until: request.body.until,
        email: request.email,
        actor: request.actor,
      },
      deps,
    );
    return { created: true, job };
  } catch (error) {
    if (!(error instanceof ExportInProgressError)) throw error;
    // Lost a race with a concurrent start: the winner's export is the answer.
    const winner = await deps.jobs.get(error.activeExportId);
    if (!winner) throw error;
    return { created: false, job: winner };
  }
}

const admissionOf = (deps: ExportsApiDeps) => ({ jobs: deps.jobs, workflow: deps.workflow, maxConcurrentExports: deps.settings.maxConcurrentExports, now: deps.now });

async function activeJob(userId: string, jobs: JobStore): Promise<Job | undefined> {
  const id = await jobs.activeExportId(userId);
  const job = id ? await jobs.get(id) : undefined;
  return job && ACTIVE_STATUSES.includes(job.status) ? job : undefined;
}

/** An export the caller may see: a user only their own (anything else is "not found"), support any. */
export async function visibleJob(exportId: string, caller: Actor, deps: Pick<ExportsApiDeps, 'jobs' | 'settings' | 'now'>): Promise<Job> {
  const notFound = () => new NotFoundError(caller.role === 'user' ? 'There is no export with this id in your account.' : `There is no export ${exportId.slice(0, 100)}.`);
  // Anything that is not an export id names no export, and never reaches the table as a key.
  if (!exportIdSchema.safeParse(exportId).success) throw notFound();
  const job = await deps.jobs.get(exportId);
  if (!job || (caller.role === 'user' && job.userId !== caller.id)) throw notFound();
  return applyRetention(job, deps.jobs, deps.settings.retentionDays, nowOf(deps));
}

/** A user's exports, newest first, with retention applied. */
export async function exportsOf(userId: string, deps: Pick<ExportsApiDeps, 'jobs' | 'settings' | 'now'>): Promise<Job[]> {
  const jobs = await deps.jobs.listByUser(userId);
  return Promise.all(jobs.map((job) => applyRetention(job, deps.jobs, deps.settings.retentionDays, nowOf(deps))));
}

/** Whether the data map's account source knows this user (support must not export a typo). */
export async function userExists(userId: string, deps: Pick<ExportsApiDeps, 'dataMap' | 'dynamodb'>): Promise<boolean> {
  const account = accountSource(deps.dataMap);
  if (!account) return true;
  const page = await deps.dynamodb.send(new QueryCommand({ ...userQuery(account, userId), Limit: 1 }));
  return (page.Items?.length ?? 0) > 0;
}

/**
 * Emails a fresh link without re-running the export; the previous link stops working. Also the way out
 * when the first email could not be delivered: such an export is FAILED but its archive exists, and a
 * successful resend makes it READY.
 */
export async function resendLink(job: Job, actor: Actor, deps: ExportsApiDeps): Promise<Job> {
  const now = nowOf(deps);
  if (job.status === 'EXPIRED') throw new ExpiredError(`The archive of export ${job.exportId} has been deleted; start a new export.`);
  if (!job.archiveKey || (job.status !== 'READY' && job.status !== 'FAILED')) {
    throw new ConflictError(`Export ${job.exportId} is ${job.status}; only a finished export (READY) has a link to send again.`);
  }
  const goneAt = archiveGoneAt(job, deps.settings.retentionDays);
  if (goneAt <= now.getTime()) {
    throw new ExpiredError(`The archive of export ${job.exportId} has been deleted after ${deps.settings.retentionDays} days; start a new export.`);
  }
  if (!job.notifyEmail) throw new ConflictError(`Export ${job.exportId} has no email address to send to.`);
  const { link, linkId, expiresAt } = await newDownloadLink(job, deps.delivery.signer, deps.delivery.settings, now);
  // The link never outlives the archive it points to.
  const linkExpiresAt = new Date(Math.min(expiresAt.getTime(), goneAt));
  const records = Object.fromEntries(Object.entries(job.sources).map(([id, p]) => [id, p.records]));
  await sendEmail(
    deps.delivery.ses,
    deps.delivery.settings.sender,
    job.notifyEmail,
    renderReadyEmail({ exportId: job.exportId, link, linkExpiresAt, archiveBytes: job.archiveBytes ?? 0, archiveParts: job.archiveParts ?? 1, records, dataMap: deps.dataMap }),
  );
  // Only a delivered link replaces the old one (and makes a delivery-failed export READY).
  await deps.jobs.update(job.exportId, { status: 'READY', linkId, linkExpiresAt: linkExpiresAt.toISOString() }, { statusIn: ['READY', 'FAILED'] });
  await deps.jobs.audit({ userId: job.userId, exportId: job.exportId, action: 'resend', actor, detail: `new link valid until ${linkExpiresAt.toISOString()}` });
  return { ...job, status: 'READY', linkId, linkExpiresAt: linkExpiresAt.toISOString() };
}

/**
 * Stops a queued or running export: CANCELLED, out of the queue or its execution stopped, lock freed, audited. The staging
 * objects are not removed here, where a large export's cleanup could outlast the API's 30 seconds:
 * the stopped execution ends ABORTED, and ExecutionEnded removes them (as a collector still writing
 * removes its own part when it sees the export ended; lifecycle removes anything left after a day).
 */
export async function cancelExport(job: Job, actor: Actor, deps: ExportsApiDeps): Promise<Job> {
  if (!ACTIVE_STATUSES.includes(job.status)) {
    throw new ConflictError(`Export ${job.exportId} has already ended (${job.status}); there is nothing to cancel.`);
  }
  const completedAt = nowOf(deps).toISOString();
  try {
    await deps.jobs.update(job.exportId, { status: 'CANCELLED', completedAt, failureMessage: 'This export was cancelled.' }, { statusIn: ACTIVE_STATUSES });
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') throw new ConflictError(`Export ${job.exportId} ended while it was being cancelled.`);
    throw error;
  }
  // A waiting export leaves the queue; a started one's execution stops, and its ending frees its slot.
  await deps.jobs.admission.dequeue(job);
  await deps.workflow.stop(job.exportId);
  await deps.jobs.releaseLock(job.userId, job.exportId);
  await deps.jobs.audit({ userId: job.userId, exportId: job.exportId, action: 'cancel', actor });
  return { ...job, status: 'CANCELLED', completedAt };
}
