// CollectSource: one time-boxed slice of one source into staging parts; returns a cursor to loop on.
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { collectSource, type CollectRequest, type CollectResult } from './core/collect/collect-source.ts';
import { callDeadline } from './core/platform/clock.ts';
import { parseEnv, pickEnv } from './core/platform/config.ts';
import { loadDataMapFile } from './core/data-map/data-map.ts';
import { exportIdSchema, userIdSchema } from './core/data-map/identifiers.ts';
import { JOB_STORE_ENV, jobStoreFrom } from './core/jobs/job-store.ts';
import { parseEvent } from './core/platform/middleware.ts';
import { observe } from './core/platform/observability.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

const event = z.object({
  exportId: exportIdSchema,
  userId: userIdSchema,
  sourceId: z.string().min(1),
  cursor: z.string().nullable().default(null),
  nextPart: z.number().int().min(0).default(0),
  records: z.number().int().min(0).default(0),
});

/** Time kept back from Lambda's limit to close the part upload and report. */
const SAFETY_MARGIN_MS = 60_000;

export function createCollectSourceHandler(runtime: Runtime) {
  const config = parseEnv(pickEnv(...JOB_STORE_ENV, 'EXPORT_BUCKET', 'EXPORT_KMS_KEY_ID', 'DATA_MAP_FILE', 'COLLECT_BUDGET_SECONDS'), runtime.env);
  const dynamodb = runtime.client(DynamoDBClient);
  const s3 = runtime.client(S3Client);
  const deps = {
    dynamodb,
    s3,
    exportBucket: { s3, bucket: config.EXPORT_BUCKET, kmsKeyId: config.EXPORT_KMS_KEY_ID },
    jobs: jobStoreFrom(dynamodb, config, runtime.clock),
    dataMap: loadDataMapFile(config.DATA_MAP_FILE),
    now: runtime.clock,
  };
  const deadline = (context: Context) => callDeadline(runtime.clock, context, { seconds: config.COLLECT_BUDGET_SECONDS, marginMs: SAFETY_MARGIN_MS });
  return middy<CollectRequest, CollectResult>()
    .use(observe(runtime, 'CollectSource'))
    .use(parseEvent(event))
    .handler((input, context) => collectSource(input, deps, deadline(context)));
}

export const handler = lambdaEntry(createCollectSourceHandler);
