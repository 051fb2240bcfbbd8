// The emailed link's endpoint: verify the token on every click, check the job, record the download,
// and redirect to a presigned S3 URL that lives for seconds. Every refusal is a page with a sentence.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { applyRetention, type JobStore } from '../jobs/job-store.ts';
import { verifyToken, type LinkSigner } from './link-token.ts';
import { archiveFileName, archiveKey } from '../storage/object-keys.ts';
import type { Clock } from '../platform/clock.ts';

export interface DownloadRequest {
  exportId: string;
  token: string | undefined;
  /** Which part of a split archive (the link's part=N); absent: part 1. */
  part?: string;
  ip?: string;
  userAgent?: string;
}

export type DownloadOutcome = { kind: 'redirect'; location: string } | { kind: 'refused'; status: 400 | 403 | 404 | 409 | 410; title: string; message: string };

export interface DownloadDeps {
  jobs: JobStore;
  signer: LinkSigner;
  s3: S3Client;
  bucket: string;
  /** Lifetime of the presigned URL, at most 60 seconds. */
  presignSeconds?: number;
  /** Days an archive is kept; an older READY export is EXPIRED. */
  retentionDays: number;
  now: Clock;
}

const refuse = (status: 400 | 403 | 404 | 409 | 410, title: string, message: string): DownloadOutcome => ({ kind: 'refused', status, title, message });

const NEW_EXPORT = 'You can request a new export from your account page.';

export async function handleDownload(request: DownloadRequest, deps: DownloadDeps): Promise<DownloadOutcome> {
  const now = deps.now();
  if (!request.token) return refuse(400, 'Link incomplete', `This download link is missing its token. Open the link exactly as it appears in the email. ${NEW_EXPORT}`);
  const check = await verifyToken(deps.signer, request.token, Math.floor(now.getTime() / 1000));
  if (!check.valid && check.reason !== 'expired') {
    return refuse(
      403,
      'Link not valid',
      `This download link is not valid; it may have been changed or cut off when copied. Open the link exactly as it appears in the email. ${NEW_EXPORT}`,
    );
  }
  const claims = check.claims;
  if (!claims || claims.exportId !== request.exportId) {
    return refuse(403, 'Link not valid', `This download link does not belong to this export. ${NEW_EXPORT}`);
  }
  if (!check.valid) return refuse(410, 'Link expired', `This download link expired on ${new Date(claims.expiresAt * 1000).toUTCString()}. ${NEW_EXPORT}`);

  const stored = await deps.jobs.get(claims.exportId);
  const job = stored && (await applyRetention(stored, deps.jobs, deps.retentionDays, now));
  if (!job || job.userId !== claims.userId) return refuse(404, 'Export not found', `This export no longer exists. ${NEW_EXPORT}`);
  if (job.status === 'EXPIRED') return refuse(410, 'Export expired', `This export has expired and its archive was deleted. ${NEW_EXPORT}`);
  if (job.status === 'CANCELLED' || job.status === 'FAILED') {
    return refuse(410, 'Export not available', `This export was ${job.status === 'CANCELLED' ? 'cancelled' : 'not completed'}, so there is nothing to download. ${NEW_EXPORT}`);
  }
  if (job.status !== 'READY' || !job.archiveKey) return refuse(409, 'Export not ready', 'This export is still being prepared. You will get an email when it is ready.');
  if (job.linkId !== claims.linkId) {
    return refuse(410, 'Link replaced', 'A newer download link was sent for this export, so this one no longer works. Use the link in the most recent email.');
  }

  const parts = job.archiveParts ?? 1;
  const part = request.part === undefined ? 1 : /^[1-9]\d{0,5}$/.test(request.part) ? Number(request.part) : Number.NaN;
  if (!(part >= 1 && part <= parts)) {
    return refuse(
      404,
      'Part not found',
      `This export's archive has ${parts === 1 ? 'one part' : `${parts} parts`}; there is no part "${request.part ?? ''}". Use the links exactly as they appear in the email.`,
    );
  }

  await deps.jobs.recordDownload(job.exportId, now.toISOString());
  await deps.jobs.audit({
    userId: job.userId,
    exportId: job.exportId,
    action: 'download',
    actor: { id: job.userId, role: 'user' },
    at: now.toISOString(),
    ...(parts > 1 ? { detail: `part ${part} of ${parts}` } : {}),
    ip: request.ip,
    userAgent: request.userAgent?.slice(0, 512),
  });
  const location = await getSignedUrl(
    deps.s3,
    new GetObjectCommand({
      Bucket: deps.bucket,
      Key: part === 1 ? job.archiveKey : archiveKey(job.exportId, part),
      ResponseContentDisposition: `attachment; filename="${archiveFileName(job.exportId, part)}"`,
      ResponseContentType: 'application/zip',
    }),
    { expiresIn: Math.min(deps.presignSeconds ?? 60, 60) },
  );
  return { kind: 'redirect', location };
}
