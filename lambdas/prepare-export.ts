// PrepareExport: mark the job RUNNING, resolve the recipient, and list the sources the Map will collect.
import middy from '@middy/core';
import * as z from 'zod';
import { parseEnv, pickEnv } from './core/platform/config.ts';
import { loadDataMapFile } from './core/data-map/data-map.ts';
import { prepareExport, type ExportPlan, type WorkflowInput } from './core/lifecycle/export-lifecycle.ts';
import { exportIdSchema, userIdSchema } from './core/data-map/identifiers.ts';
import { JOB_STORE_ENV, jobStoreFrom } from './core/jobs/job-store.ts';
import { parseEvent } from './core/platform/middleware.ts';
import { observe } from './core/platform/observability.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

const event = z.object({ exportId: exportIdSchema, userId: userIdSchema });

export function createPrepareExportHandler(runtime: Runtime) {
  const config = parseEnv(pickEnv(...JOB_STORE_ENV, 'DATA_MAP_FILE'), runtime.env);
  const dynamodb = runtime.client(DynamoDBClient);
  const deps = {
    jobs: jobStoreFrom(dynamodb, config, runtime.clock),
    dataMap: loadDataMapFile(config.DATA_MAP_FILE),
    dynamodb,
    now: runtime.clock,
  };
  return middy<WorkflowInput, ExportPlan>()
    .use(observe(runtime, 'PrepareExport'))
    .use(parseEvent(event))
    .handler((input) => prepareExport(input, deps));
}

export const handler = lambdaEntry(createPrepareExportHandler);
