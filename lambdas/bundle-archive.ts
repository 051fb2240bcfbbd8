// BundleArchive: the staged parts of every source into one ZIP in the export bucket (SSE-KMS), or into
// numbered parts of at most MAX_ARCHIVE_BYTES when that is set. A call writes for at most its time
// budget, then finishes its part and returns a resume point; the state machine calls again until done.
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { buildArchive, type ArchiveRequest, type ArchiveResult } from './core/archive/build-archive.ts';
import { callDeadline } from './core/platform/clock.ts';
import { parseEnv, pickEnv } from './core/platform/config.ts';
import { loadDataMapFile } from './core/data-map/data-map.ts';
import { exportIdSchema, formatsSchema, userIdSchema } from './core/data-map/identifiers.ts';
import { CATEGORIES } from './core/data-map/privacy-policy.ts';
import { parseEvent } from './core/platform/middleware.ts';
import { observe } from './core/platform/observability.ts';
import { S3Client } from '@aws-sdk/client-s3';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

const event = z.object({
  exportId: exportIdSchema,
  userId: userIdSchema,
  formats: formatsSchema,
  request: z.object({
    receivedAt: z.iso.datetime(),
    dueBy: z.iso.datetime(),
    requestedBy: z.enum(['self', 'support']),
    categories: z.array(z.enum(CATEGORIES)),
    since: z.iso.datetime().optional(),
    until: z.iso.datetime().optional(),
  }),
  sources: z.array(z.object({ sourceId: z.string().min(1), nextPart: z.number().int().min(0), records: z.number().int().min(0), waitedMs: z.number().min(0).default(0) })),
  queuedMs: z.number().min(0).default(0),
  resume: z
    .object({ partsDone: z.number().int().min(1) })
    .nullable()
    .default(null),
});

/** Time kept back from Lambda's limit to finish the part, save the progress and report. */
const SAFETY_MARGIN_MS = 60_000;

export function createBundleArchiveHandler(runtime: Runtime) {
  const config = parseEnv(pickEnv('EXPORT_BUCKET', 'EXPORT_KMS_KEY_ID', 'DATA_MAP_FILE', 'MAX_ARCHIVE_BYTES', 'BUNDLE_BUDGET_SECONDS'), runtime.env);
  const s3 = runtime.client(S3Client);
  const deps = {
    s3,
    exportBucket: { s3, bucket: config.EXPORT_BUCKET, kmsKeyId: config.EXPORT_KMS_KEY_ID },
    dataMap: loadDataMapFile(config.DATA_MAP_FILE),
    maxArchiveBytes: config.MAX_ARCHIVE_BYTES,
    now: runtime.clock,
  };
  const deadline = (context: Context) => callDeadline(runtime.clock, context, { seconds: config.BUNDLE_BUDGET_SECONDS, marginMs: SAFETY_MARGIN_MS });
  return middy<ArchiveRequest, ArchiveResult>()
    .use(observe(runtime, 'BundleArchive'))
    .use(parseEvent(event))
    .handler((input, context) => buildArchive(input, { ...deps, deadline: deadline(context) }));
}

export const handler = lambdaEntry(createBundleArchiveHandler);
