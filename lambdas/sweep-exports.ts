// SweepExports: run daily by EventBridge Scheduler. Expires READY exports past retention, closes exports
// that outlived the state machine's timeout (FAILED, lock freed, user told), publishes how many
// requests are still unanswered near their due date (ExportsNearDue), and frees admission slots whose
// ending was never reported, admitting waiting exports.
import middy from '@middy/core';
import { failureDeps } from './core/lifecycle/export-failure.ts';
import { sweepExports, type SweepResult } from './core/lifecycle/sweep-exports.ts';
import { parseEnv, pickEnv } from './core/platform/config.ts';
import { metricSink, observe } from './core/platform/observability.ts';
import { lambdaEntry, type Runtime } from './core/runtime.ts';
import type { Workflow } from './core/lifecycle/export-lifecycle.ts';
import { workflowOf } from './core/lifecycle/step-functions-workflow.ts';

export function createSweepExportsHandler(runtime: Runtime, workflow?: Workflow) {
  const config = parseEnv(pickEnv('RETENTION_DAYS', 'DUE_ALARM_HOURS', 'EXECUTION_TIMEOUT_SECONDS', 'MAX_CONCURRENT_EXPORTS'), runtime.env);
  const deps = {
    ...failureDeps(runtime),
    metrics: metricSink(runtime.metrics),
    workflow: workflowOf(runtime, workflow),
    settings: {
      retentionDays: config.RETENTION_DAYS,
      dueAlarmHours: config.DUE_ALARM_HOURS,
      executionTimeoutSeconds: config.EXECUTION_TIMEOUT_SECONDS,
      maxConcurrentExports: config.MAX_CONCURRENT_EXPORTS,
    },
  };
  // The schedule's event carries nothing the sweep needs: every run reads the whole open-requests index.
  return middy<unknown, SweepResult>()
    .use(observe(runtime, 'SweepExports'))
    .handler(() => sweepExports(deps));
}

export const handler = lambdaEntry((runtime) => createSweepExportsHandler(runtime));
