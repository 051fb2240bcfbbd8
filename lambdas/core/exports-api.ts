// What the user and support APIs do, independent of HTTP: start an export as an actor, list a user's
// exports, and show one export without revealing anything that is not the caller's.
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import { parseEnv, pickEnv } from './config.ts';
import { loadDataMapFile, type DataMap } from './data-map.ts';
import { ExportInProgressError } from './errors.ts';
import { startExport, type LifecycleSettings, type WorkflowStarter } from './export-lifecycle.ts';
import { formatsFromChoice } from './identifiers.ts';
import { JobStore, type Actor, type Job } from './jobs.ts';
import { CATEGORIES } from './privacy-policy.ts';
import type { Runtime } from './runtime.ts';

export const startBodySchema = z
  .object({
    format: z.enum(['json', 'csv', 'both']).default('both'),
    categories: z.array(z.enum(CATEGORIES)).min(1).optional(),
  })
  .strict();

/** Step Functions as the workflow: the execution is named after the export, so a retry cannot run it twice. */
export class StepFunctionsWorkflow implements WorkflowStarter {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(exportId: string, input: { exportId: string; userId: string }): Promise<void> {
    await this.sfn.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: exportId, input: JSON.stringify(input) }));
  }
}

export interface ExportsApiDeps {
  jobs: JobStore;
  workflow: WorkflowStarter;
  dataMap: DataMap;
  settings: LifecycleSettings;
}

/** What both APIs need, from the environment; the workflow is Step Functions unless one is given (local). */
export function exportsApiDeps(runtime: Runtime, workflow?: WorkflowStarter): ExportsApiDeps {
  const config = parseEnv(pickEnv('JOBS_TABLE', 'DATA_MAP_FILE', 'RETENTION_DAYS'), runtime.env);
  return {
    jobs: new JobStore(runtime.clients.dynamodb, config.JOBS_TABLE),
    workflow: workflow ?? new StepFunctionsWorkflow(runtime.clients.sfn, parseEnv(pickEnv('STATE_MACHINE_ARN'), runtime.env).STATE_MACHINE_ARN),
    dataMap: loadDataMapFile(config.DATA_MAP_FILE),
    settings: { retentionDays: config.RETENTION_DAYS },
  };
}

/** What a caller sees of an export: status, progress, size and link expiry; never keys or failure internals. */
export function publicView(job: Job) {
  return {
    exportId: job.exportId,
    userId: job.userId,
    status: job.status,
    formats: job.formats,
    categories: job.categories ?? null,
    requestedBy: { role: job.requestedBy.role },
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    completedAt: job.completedAt ?? null,
    sources: job.sources,
    archiveBytes: job.archiveBytes ?? null,
    linkExpiresAt: job.linkExpiresAt ?? null,
    failureMessage: job.failureMessage ?? null,
    downloadCount: job.downloadCount ?? 0,
  };
}

/**
 * Starts an export; when the user already has one running, returns that one instead (a double click or a
 * retried request must not queue a second export).
 */
export async function startOrReuse(
  request: { userId: string; body: z.infer<typeof startBodySchema>; email?: string; actor: Actor },
  deps: ExportsApiDeps,
): Promise<{ created: boolean; job: Job }> {
  try {
    const job = await startExport(
      { userId: request.userId, formats: formatsFromChoice(request.body.format), categories: request.body.categories, email: request.email, actor: request.actor },
      deps,
    );
    return { created: true, job };
  } catch (error) {
    if (!(error instanceof ExportInProgressError)) throw error;
    const active = await deps.jobs.get(error.activeExportId);
    if (!active) throw error;
    return { created: false, job: active };
  }
}
