// CollectSource: one time-boxed slice of one source into staging parts; returns a cursor to loop on.
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { collectSource, type CollectRequest, type CollectResult } from './core/collect/collect-source.ts';
import { collectEvent, COLLECT_SAFETY_MARGIN_MS } from './core/collect/reading.ts';
import { callDeadline } from './core/platform/clock.ts';
import { parseEnv, pickEnv } from './core/platform/config.ts';
import { loadDataMapFile, type DataMap } from './core/data-map/data-map.ts';
import { DataMapError } from './core/platform/errors.ts';
import { JOB_STORE_ENV, jobStoreFrom } from './core/jobs/job-store.ts';
import { parseEvent } from './core/platform/middleware.ts';
import { observe } from './core/platform/observability.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { SOURCE_COLLECTORS } from './core/collect/source-collectors.ts';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

/** Which pool a Cognito source reads: the stand-in's where the Runtime has one, else the id its aws block gives. */
function userPoolId(map: DataMap, pool: string, runtime: Runtime): string {
  if (runtime.stores) return runtime.stores.userPoolId(pool);
  const id = map.userPools?.[pool]?.aws?.userPoolId;
  if (!id) throw new DataMapError(`The data map's userPools.${pool} has no aws.userPoolId, which the function needs in AWS.`);
  return id;
}

export function createCollectSourceHandler(runtime: Runtime) {
  const config = parseEnv(pickEnv(...JOB_STORE_ENV, 'EXPORT_BUCKET', 'EXPORT_KMS_KEY_ID', 'DATA_MAP_FILE', 'COLLECT_BUDGET_SECONDS'), runtime.env);
  const dataMap = loadDataMapFile(config.DATA_MAP_FILE);
  const dynamodb = runtime.client(DynamoDBClient);
  const s3 = runtime.client(S3Client);
  const deps = {
    dynamodb,
    s3,
    exportBucket: { s3, bucket: config.EXPORT_BUCKET, kmsKeyId: config.EXPORT_KMS_KEY_ID },
    jobs: jobStoreFrom(dynamodb, config, runtime.clock),
    dataMap,
    now: runtime.clock,
    // Only a map with user pools reads Cognito: the client is built for it alone.
    cognito: dataMap.userPools ? { client: runtime.client(CognitoIdentityProviderClient), userPoolId: (pool: string) => userPoolId(dataMap, pool, runtime) } : undefined,
  };
  const deadline = (context: Context) => callDeadline(runtime.clock, context, { seconds: config.COLLECT_BUDGET_SECONDS, marginMs: COLLECT_SAFETY_MARGIN_MS });
  return middy<CollectRequest, CollectResult>()
    .use(observe(runtime, 'CollectSource'))
    .use(parseEvent(collectEvent))
    .handler((input, context) => collectSource(input, deps, deadline(context), SOURCE_COLLECTORS));
}

export const handler = lambdaEntry(createCollectSourceHandler);
