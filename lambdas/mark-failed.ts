// MarkFailed: the one failure path. Job FAILED with the reason, staging removed, lock freed, user told.
import middy from '@middy/core';
import * as z from 'zod';
import { parseEnv, pickEnv } from './core/platform/config.ts';
import { markFailed, type FailureInput } from './core/lifecycle/export-failure.ts';
import { JOB_STORE_ENV, jobStoreFrom } from './core/jobs/job-store.ts';
import { parseEvent } from './core/platform/middleware.ts';
import { observe } from './core/platform/observability.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

// Lenient on purpose: whatever state the failure left behind, the job must still be closed.
const event = z.object({
  exportId: z.string().min(1),
  userId: z.string().min(1),
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

export function createMarkFailedHandler(runtime: Runtime) {
  const config = parseEnv(pickEnv(...JOB_STORE_ENV, 'EXPORT_BUCKET', 'SENDER_EMAIL'), runtime.env);
  const deps = {
    jobs: jobStoreFrom(runtime.client(DynamoDBClient), config, runtime.clock),
    s3: runtime.client(S3Client),
    bucket: config.EXPORT_BUCKET,
    ses: runtime.client(SESv2Client),
    sender: config.SENDER_EMAIL,
    logger: runtime.logger,
    now: runtime.clock,
  };
  return middy<FailureInput, Awaited<ReturnType<typeof markFailed>>>()
    .use(observe(runtime, 'MarkFailed'))
    .use(parseEvent(event))
    .handler((input) => markFailed(input, deps));
}

export const handler = lambdaEntry(createMarkFailedHandler);
