// EventBridge → here whenever an export's execution ended ("Step Functions Execution Status Change":
// SUCCEEDED, FAILED, TIMED_OUT or ABORTED). Every ending frees the execution's admission slot and admits
// the oldest waiting exports. FAILED, TIMED_OUT and ABORTED can also skip the state machine's Catch, so
// those close a job still QUEUED or RUNNING the way MarkFailed would: FAILED, lock freed, staging
// removed, user told.
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod';
import { closeEndedExecution, EXECUTION_ENDINGS, failureDeps, UNHANDLED_ENDINGS } from './core/lifecycle/export-failure.ts';
import { releaseAndAdmit } from './core/lifecycle/admission.ts';
import type { Workflow } from './core/lifecycle/export-lifecycle.ts';
import { workflowOf } from './core/lifecycle/step-functions-workflow.ts';
import { parseEnv, pickEnv } from './core/platform/config.ts';
import { observe } from './core/platform/observability.ts';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

/** The detail of the event as Step Functions documents it (only the fields used here). */
export interface ExecutionStatusChange {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: string;
  /** The execution's input as JSON text; null when it was too large to include in the event. */
  input?: string | null;
}

type StatusChange = EventBridgeEvent<'Step Functions Execution Status Change', ExecutionStatusChange>;

const input = z.object({ exportId: z.string().min(1), userId: z.string().min(1) });
const ending = z.enum(EXECUTION_ENDINGS);
const unhandled = z.enum(UNHANDLED_ENDINGS);

function parseInput(text: string | null | undefined) {
  try {
    return input.safeParse(JSON.parse(text ?? 'null'));
  } catch {
    return input.safeParse(null);
  }
}

export function createExecutionEndedHandler(runtime: Runtime, workflow?: Workflow) {
  const deps = failureDeps(runtime);
  const { jobs } = deps;
  const admission = {
    jobs,
    workflow: workflowOf(runtime, workflow),
    maxConcurrentExports: parseEnv(pickEnv('MAX_CONCURRENT_EXPORTS'), runtime.env).MAX_CONCURRENT_EXPORTS,
    now: runtime.clock,
    logger: runtime.logger,
  };
  return middy<StatusChange, unknown>()
    .use(observe(runtime, 'ExecutionEnded'))
    .handler(async (event) => {
      const status = ending.safeParse(event.detail.status);
      if (!status.success) {
        // The rule matches only endings; a RUNNING change is not ours to act on.
        runtime.logger.info('Ignored an execution status change', { name: event.detail.name, status: event.detail.status });
        return { exportId: event.detail.name, status: 'IGNORED' };
      }
      const parsed = parseInput(event.detail.input);
      // The execution name is the export id; the job row knows the user when the input was not sent along.
      const exportId = parsed.success ? parsed.data.exportId : event.detail.name;
      const userId = parsed.success ? parsed.data.userId : (await jobs.get(exportId))?.userId;
      if (!userId) {
        runtime.logger.warn('An execution ended for an unknown export', { exportId, status: event.detail.status });
        // Its slot, if it held one, is freed all the same.
        const admitted = await releaseAndAdmit(exportId, admission);
        return { exportId, status: 'UNKNOWN', admitted: admitted.admitted };
      }
      const outcome = unhandled.safeParse(status.data);
      const closed = outcome.success ? await closeEndedExecution({ exportId, userId }, outcome.data, deps) : { exportId, status: 'UNCHANGED', userNotified: false };
      const admitted = await releaseAndAdmit(exportId, admission);
      return { ...closed, admitted: admitted.admitted };
    });
}

export const handler = lambdaEntry((runtime) => createExecutionEndedHandler(runtime));
