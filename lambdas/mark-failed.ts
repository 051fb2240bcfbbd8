// MarkFailed: the one failure path. Job FAILED with the reason, staging removed, lock freed, user told.
import middy from '@middy/core';
import * as z from 'zod';
import { parseEnv, pickEnv } from './core/platform/config.ts';
import { markFailed, type FailureInput } from './core/lifecycle/export-lifecycle.ts';
import { JOB_STORE_ENV, jobStoreFrom } from './core/jobs/job-store.ts';
import { logFailures, parseEvent } from './core/platform/middleware.ts';
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
    jobs: jobStoreFrom(runtime.clients.dynamodb, config),
    s3: runtime.clients.s3,
    bucket: config.EXPORT_BUCKET,
    ses: runtime.clients.ses,
    sender: config.SENDER_EMAIL,
    log: runtime.log,
  };
  return middy<FailureInput, Awaited<ReturnType<typeof markFailed>>>()
    .use(logFailures(runtime.log, 'MarkFailed'))
    .use(parseEvent(event))
    .handler((input) => markFailed(input, deps));
}

export const handler = lambdaEntry(createMarkFailedHandler);
