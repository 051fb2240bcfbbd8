// What a job is: an export's row (status, sources, archive, delivery), who may act on it, and the
// audit events that say who did what to a user's exports.
import type { Format } from '../data-map/identifiers.ts';
import type { Category } from '../data-map/privacy-policy.ts';

export type JobStatus = 'QUEUED' | 'RUNNING' | 'READY' | 'FAILED' | 'EXPIRED' | 'CANCELLED';
export const ACTIVE_STATUSES: readonly JobStatus[] = ['QUEUED', 'RUNNING'];
/**
 * Statuses of a request the sweeper still has to look at, so its row stays in the open-requests index:
 * running (it may have outlived its execution), READY (its archive expires) and FAILED (still unanswered
 * until a later export of the user replaces it). EXPIRED was answered and CANCELLED was withdrawn.
 */
export const OPEN_STATUSES: readonly JobStatus[] = ['QUEUED', 'RUNNING', 'READY', 'FAILED'];

export type Role = 'user' | 'support' | 'operator';
export interface Actor {
  /** Who acted: the user's id, a support agent's identity, or an operator's IAM principal. */
  id: string;
  role: Role;
  /** Why (a ticket number for support); required of support. */
  reason?: string;
}

export interface SourceProgress {
  records: number;
  parts: number;
  done: boolean;
}

export interface Job {
  exportId: string;
  userId: string;
  status: JobStatus;
  requestedBy: Actor;
  formats: Format[];
  categories?: Category[];
  /** The date range chosen (ISO 8601, UTC), for the sources that name a timeAttribute. */
  since?: string;
  until?: string;
  notifyEmail?: string;
  createdAt: string;
  /** When the request was received: the job's creation (createdAt), from which the time to answer runs. */
  receivedAt: string;
  /** When the answer is due: receivedAt plus the app's responseDays. */
  dueBy: string;
  updatedAt: string;
  /** When admission gave the export one of the maxConcurrentExports slots and started its execution (absent while it waits). */
  admittedAt?: string;
  startedAt?: string;
  completedAt?: string;
  sources: Record<string, SourceProgress>;
  /** The sources PrepareExport planned, so progress can say "6 of 15". */
  sourceIds?: string[];
  archiveKey?: string;
  archiveBytes?: number;
  /** Parts of a split archive (absent or 1: one ZIP). */
  archiveParts?: number;
  fileCount?: number;
  linkId?: string;
  linkExpiresAt?: string;
  failureReason?: string;
  failureMessage?: string;
  downloadCount?: number;
  lastDownloadedAt?: string;
  /** Epoch seconds after which DynamoDB's TTL deletes the row. */
  ttl: number;
}

export interface AuditEvent {
  userId: string;
  exportId: string;
  action: 'start' | 'cancel' | 'resend' | 'fail' | 'ready' | 'download';
  actor: Actor;
  at: string;
  ip?: string;
  userAgent?: string;
  detail?: string;
}

export interface AuditPage {
  events: AuditEvent[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}
