// EventBridge → here when an export's execution ended FAILED, TIMED_OUT or ABORTED ("Step Functions
// Execution Status Change"). Those endings can skip the state machine's Catch, so this closes a job that
// is still QUEUED or RUNNING the way MarkFailed would: FAILED, lock freed, staging removed, user told.
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod';
import { closeEndedExecution, failureDeps, UNHANDLED_ENDINGS } from './core/lifecycle/export-failure.ts';
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
const ending = z.enum(UNHANDLED_ENDINGS);

function parseInput(text: string | null | undefined) {
  try {
    return input.safeParse(JSON.parse(text ?? 'null'));
  } catch {
    return input.safeParse(null);
  }
}

export function createExecutionEndedHandler(runtime: Runtime) {
  const deps = failureDeps(runtime);
  const { jobs } = deps;
  return middy<StatusChange, unknown>()
    .use(observe(runtime, 'ExecutionEnded'))
    .handler(async (event) => {
      const status = ending.safeParse(event.detail.status);
      if (!status.success) {
        // The rule matches only these endings; anything else is not ours to close.
        runtime.logger.info('Ignored an execution status change', { name: event.detail.name, status: event.detail.status });
        return { exportId: event.detail.name, status: 'IGNORED' };
      }
      const parsed = parseInput(event.detail.input);
      // The execution name is the export id; the job row knows the user when the input was not sent along.
      const exportId = parsed.success ? parsed.data.exportId : event.detail.name;
      const userId = parsed.success ? parsed.data.userId : (await jobs.get(exportId))?.userId;
      if (!userId) {
        runtime.logger.warn('An execution ended for an unknown export', { exportId, status: event.detail.status });
        return { exportId, status: 'UNKNOWN' };
      }
      return closeEndedExecution({ exportId, userId }, status.data, deps);
    });
}

export const handler = lambdaEntry(createExecutionEndedHandler);
