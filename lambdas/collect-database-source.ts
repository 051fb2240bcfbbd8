// CollectDatabaseSource: CollectSource for the sources that live in a database. It runs inside the
// databases' VPC, so it is a function of its own: it reaches the database through RDS Proxy with IAM
// authentication (a short-lived token signed with the function's role, over TLS), and it builds none of
// the clients of the stores CollectSource reads outside the VPC (Cognito).
import middy from '@middy/core';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { Signer } from '@aws-sdk/rds-signer';
import type { Context } from 'aws-lambda';
import pg from 'pg';
import { collectSource, type CollectRequest, type CollectResult } from './core/collect/collect-source.ts';
import { DATABASE_COLLECTORS } from './core/collect/database-collectors.ts';
import { collectEvent, COLLECT_SAFETY_MARGIN_MS } from './core/collect/reading.ts';
import { loadDataMapFile, type DataMap } from './core/data-map/data-map.ts';
import { JOB_STORE_ENV, jobStoreFrom } from './core/jobs/job-store.ts';
import { callDeadline } from './core/platform/clock.ts';
import { parseEnv, pickEnv } from './core/platform/config.ts';
import { DataMapError } from './core/platform/errors.ts';
import { parseEvent } from './core/platform/middleware.ts';
import { observe } from './core/platform/observability.ts';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

/** Signs an RDS IAM authentication token for this endpoint and user (valid 15 minutes). */
export type TokenSigner = (endpoint: { hostname: string; port: number; username: string }) => Promise<string>;

const rdsToken: TokenSigner = (endpoint) => new Signer(endpoint).getAuthToken();

/**
 * How to reach a database the data map declares, as its `aws` block says: the RDS Proxy endpoint, with
 * an IAM token as the password (signed when the client connects) and TLS whose certificate is verified.
 * RDS Proxy's certificates chain to Amazon's roots, which are in Node's default store, so no CA bundle
 * ships with the function.
 */
export function proxyConnection(dataMap: DataMap, name: string, sign: TokenSigner = rdsToken): pg.ClientConfig {
  const database = dataMap.databases?.[name];
  if (!database) throw new DataMapError(`The data map declares no database "${name}".`);
  const aws = database.aws;
  if (!aws) throw new DataMapError(`The data map's databases.${name} has no "aws" block, which the function needs in AWS.`);
  return {
    host: aws.proxyEndpoint,
    port: aws.port,
    user: aws.user,
    database: database.database,
    password: () => sign({ hostname: aws.proxyEndpoint, port: aws.port, username: aws.user }),
    ssl: { rejectUnauthorized: true, servername: aws.proxyEndpoint },
  };
}

export function createCollectDatabaseSourceHandler(runtime: Runtime, sign: TokenSigner = rdsToken) {
  const config = parseEnv(pickEnv(...JOB_STORE_ENV, 'EXPORT_BUCKET', 'EXPORT_KMS_KEY_ID', 'DATA_MAP_FILE', 'COLLECT_BUDGET_SECONDS'), runtime.env);
  const dataMap = loadDataMapFile(config.DATA_MAP_FILE);
  // The jobs table and staging: collectSource checks the job and records progress, the collector stages parts.
  const dynamodb = runtime.client(DynamoDBClient);
  const s3 = runtime.client(S3Client);
  const connectDatabase = async (name: string) => {
    const client = new pg.Client(runtime.stores ? await runtime.stores.database(name) : proxyConnection(dataMap, name, sign));
    await client.connect();
    return client;
  };
  const deps = {
    dynamodb,
    s3,
    exportBucket: { s3, bucket: config.EXPORT_BUCKET, kmsKeyId: config.EXPORT_KMS_KEY_ID },
    jobs: jobStoreFrom(dynamodb, config, runtime.clock),
    dataMap,
    now: runtime.clock,
    connectDatabase,
  };
  const deadline = (context: Context) => callDeadline(runtime.clock, context, { seconds: config.COLLECT_BUDGET_SECONDS, marginMs: COLLECT_SAFETY_MARGIN_MS });
  return middy<CollectRequest, CollectResult>()
    .use(observe(runtime, 'CollectDatabaseSource'))
    .use(parseEvent(collectEvent))
    .handler((input, context) => collectSource(input, deps, deadline(context), DATABASE_COLLECTORS));
}

export const handler = lambdaEntry((runtime) => createCollectDatabaseSourceHandler(runtime));
