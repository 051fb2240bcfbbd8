// The composition root of both APIs: the job store, the workflow, the data map and delivery, built from
// a function's Runtime (the workflow is Step Functions unless the embedded stack passes its local runner).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { loadDataMapFile } from '../data-map/data-map.ts';
import { JOB_STORE_ENV, jobStoreFrom } from '../jobs/job-store.ts';
import type { Workflow } from '../lifecycle/export-lifecycle.ts';
import { workflowOf } from '../lifecycle/step-functions-workflow.ts';
import { parseEnv, pickEnv } from '../platform/config.ts';
import { linkSigner, type Runtime } from '../runtime.ts';
import type { ExportsApiDeps } from './exports-api.ts';

/** What both APIs need, from the environment; the workflow is Step Functions unless one is given (local). */
export function exportsApiDeps(runtime: Runtime, workflow?: Workflow): ExportsApiDeps {
  const config = parseEnv(
    pickEnv(...JOB_STORE_ENV, 'DATA_MAP_FILE', 'RETENTION_DAYS', 'RESPONSE_DAYS', 'COOLDOWN_HOURS', 'SENDER_EMAIL', 'PUBLIC_BASE_URL', 'LINK_TTL_HOURS', 'MAX_CONCURRENT_EXPORTS'),
    runtime.env,
  );
  const dynamodb = runtime.client(DynamoDBClient);
  return {
    jobs: jobStoreFrom(dynamodb, config, runtime.clock),
    workflow: workflowOf(runtime, workflow),
    dataMap: loadDataMapFile(config.DATA_MAP_FILE),
    dynamodb,
    settings: {
      retentionDays: config.RETENTION_DAYS,
      responseDays: config.RESPONSE_DAYS,
      cooldownHours: config.COOLDOWN_HOURS,
      maxConcurrentExports: config.MAX_CONCURRENT_EXPORTS,
    },
    delivery: {
      signer: linkSigner(runtime),
      ses: runtime.client(SESv2Client),
      settings: { sender: config.SENDER_EMAIL, publicBaseUrl: config.PUBLIC_BASE_URL, linkTtlSeconds: config.LINK_TTL_HOURS * 3600 },
    },
    now: runtime.clock,
  };
}
