// CollectDatabaseSource: CollectSource for the sources that live in a database. It runs inside the
// databases' VPC, so it is a function of its own: it reaches the database through RDS Proxy with IAM
// authentication (a short-lived token signed with the function's role, over TLS), and it builds none of
// the clients of the stores CollectSource reads outside the VPC (Cognito).
import { Signer } from '@aws-sdk/rds-signer';
import type pg from 'pg';
import { DATABASE_COLLECTORS } from './core/collect/database-collectors.ts';
import type { DataMap } from './core/data-map/data-map.ts';
import { DataMapError } from './core/platform/errors.ts';
import { lambdaEntry, type Runtime } from './core/runtime.ts';
import { connectPostgres } from './core/collect/connectors/postgres/connection.ts';
import { createCollectHandler } from './collect-handler.ts';

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
  return createCollectHandler(runtime, 'CollectDatabaseSource', DATABASE_COLLECTORS, (dataMap) => ({
    connectDatabase: async (name: string) => connectPostgres(runtime.stores ? await runtime.stores.database(name) : proxyConnection(dataMap, name, sign)),
  }));
}

export const handler = lambdaEntry((runtime) => createCollectDatabaseSourceHandler(runtime));
