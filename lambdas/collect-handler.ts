// What CollectSource and CollectDatabaseSource are both made of: the configuration, the jobs table
// and staging, the call's deadline and the middy chain; each adds its own stores' access (Cognito, or
// a database connection) and the collectors it runs.
import middy from '@middy/core';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { collectSource, type CollectRequest, type CollectResult, type Collectors } from './core/collect/collect-source.ts';
import { collectEvent, COLLECT_SAFETY_MARGIN_MS, type CollectDeps } from './core/collect/reading.ts';
import type { CollectorFunction } from './core/data-map/connector.ts';
import { loadDataMapFile, type DataMap } from './core/data-map/data-map.ts';
import { JOB_STORE_ENV, jobStoreFrom } from './core/jobs/job-store.ts';
import { callDeadline } from './core/platform/clock.ts';
import { parseEnv, pickEnv } from './core/platform/config.ts';
import { parseEvent } from './core/platform/middleware.ts';
import { observe } from './core/platform/observability.ts';
import type { Runtime } from './core/runtime.ts';

export function createCollectHandler<F extends CollectorFunction>(
  runtime: Runtime,
  step: F,
  collectors: Collectors<F>,
  storeAccess: (dataMap: DataMap) => Pick<CollectDeps, 'connectDatabase' | 'cognito'>,
) {
  const config = parseEnv(pickEnv(...JOB_STORE_ENV, 'EXPORT_BUCKET', 'EXPORT_KMS_KEY_ID', 'DATA_MAP_FILE', 'COLLECT_BUDGET_SECONDS'), runtime.env);
  const dataMap = loadDataMapFile(config.DATA_MAP_FILE);
  // The jobs table and staging: collectSource checks the job and records progress, the collector stages parts.
  const dynamodb = runtime.client(DynamoDBClient);
  const s3 = runtime.client(S3Client);
  const deps: CollectDeps = {
    dynamodb,
    s3,
    exportBucket: { s3, bucket: config.EXPORT_BUCKET, kmsKeyId: config.EXPORT_KMS_KEY_ID },
    jobs: jobStoreFrom(dynamodb, config, runtime.clock),
    dataMap,
    now: runtime.clock,
    ...storeAccess(dataMap),
  };
  const deadline = (context: Context) => callDeadline(runtime.clock, context, { seconds: config.COLLECT_BUDGET_SECONDS, marginMs: COLLECT_SAFETY_MARGIN_MS });
  return middy<CollectRequest, CollectResult>()
    .use(observe(runtime, step))
    .use(parseEvent(collectEvent))
    .handler((input, context) => collectSource(input, deps, deadline(context), collectors));
}
