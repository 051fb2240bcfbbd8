// Retention: a READY export whose archive the bucket's lifecycle has deleted is EXPIRED, and its links
// refuse from the first time anyone looks at it.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { Job } from './job-model.ts';
import type { JobStore } from './job-store.ts';

/** When lifecycle deletes the export's archive (epoch ms): retentionDays after the export completed. */
export function archiveGoneAt(job: Job, retentionDays: number): number {
  return Date.parse(job.completedAt ?? job.createdAt) + retentionDays * 86_400_000;
}

/**
 * A READY export whose archive lifecycle has deleted (retentionDays after completion) is EXPIRED. The
 * row is moved there the first time anyone looks at it (download, API), so its links refuse from then on.
 */
export async function applyRetention(job: Job, jobs: JobStore, retentionDays: number, now: Date): Promise<Job> {
  if (job.status !== 'READY' || !job.completedAt) return job;
  if (archiveGoneAt(job, retentionDays) > now.getTime()) return job;
  try {
    await jobs.update(job.exportId, { status: 'EXPIRED' }, { statusIn: ['READY'] });
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  return { ...job, status: 'EXPIRED' };
}
