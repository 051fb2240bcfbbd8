// MarkFailed: the one failure path. Job FAILED with the reason, staging removed, lock freed, user told.
import middy from '@middy/core';
import * as z from 'zod';
import { failureDeps, markFailed, type FailureInput } from './core/lifecycle/export-failure.ts';
import { parseEvent } from './core/platform/middleware.ts';
import { observe } from './core/platform/observability.ts';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

// Lenient on purpose: whatever state the failure left behind, the job must still be closed.
const event = z.object({
  exportId: z.string().min(1),
  userId: z.string().min(1),
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

export function createMarkFailedHandler(runtime: Runtime) {
  const deps = failureDeps(runtime);
  return middy<FailureInput, Awaited<ReturnType<typeof markFailed>>>()
    .use(observe(runtime, 'MarkFailed'))
    .use(parseEvent(event))
    .handler((input) => markFailed(input, deps));
}

export const handler = lambdaEntry(createMarkFailedHandler);
