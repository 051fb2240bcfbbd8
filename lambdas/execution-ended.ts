// EventBridge → here when an execution TIMED_OUT or was ABORTED: those endings skip the state machine's
// Catch, so this closes the job the way MarkFailed would (FAILED, or kept CANCELLED), frees the lock,
// removes staging and tells the user.
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod';
import { parseEnv, pickEnv } from './core/config.ts';
import { closeEndedExecution } from './core/export-lifecycle.ts';
import { JobStore } from './core/jobs.ts';
import { logFailures } from './core/middleware.ts';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

type StatusChange = EventBridgeEvent<'Step Functions Execution Status Change', { name: string; status: string; input?: string | null }>;

const input = z.object({ exportId: z.string().min(1), userId: z.string().min(1) });

export function createExecutionEndedHandler(runtime: Runtime) {
  const config = parseEnv(pickEnv('JOBS_TABLE', 'EXPORT_BUCKET', 'SENDER_EMAIL'), runtime.env);
  const jobs = new JobStore(runtime.clients.dynamodb, config.JOBS_TABLE);
  const deps = { jobs, s3: runtime.clients.s3, bucket: config.EXPORT_BUCKET, ses: runtime.clients.ses, sender: config.SENDER_EMAIL, log: runtime.log };
  return middy<StatusChange, unknown>()
    .use(logFailures(runtime.log, 'ExecutionEnded'))
    .handler(async (event) => {
      const parsed = input.safeParse(JSON.parse(event.detail.input ?? 'null'));
      // The execution name is the export id; the job row knows the user when the input was not sent along.
      const exportId = parsed.success ? parsed.data.exportId : event.detail.name;
      const userId = parsed.success ? parsed.data.userId : (await jobs.get(exportId))?.userId;
      if (!userId) {
        runtime.log('An execution ended for an unknown export', { exportId, status: event.detail.status });
        return { exportId, status: 'UNKNOWN' };
      }
      return closeEndedExecution({ exportId, userId }, event.detail.status === 'TIMED_OUT' ? 'TIMED_OUT' : 'ABORTED', deps);
    });
}

export const handler = lambdaEntry(createExecutionEndedHandler);
