// CollectDatabaseSource's connection in AWS: RDS Proxy with an IAM token as the password and TLS that
// verifies the proxy's certificate; and the clients it builds (the jobs table and staging, nothing else).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createCollectDatabaseSourceHandler, proxyConnection, type TokenSigner } from '../../lambdas/collect-database-source.ts';
import { loadDataMapFile } from '../../lambdas/core/data-map/data-map.ts';
import { createObservability } from '../../lambdas/core/platform/observability.ts';
import type { ClientClass, Runtime, SdkClient } from '../../lambdas/core/runtime.ts';

const MAP_FILE = 'test/fixtures/data-map-databases.json';
const dataMap = loadDataMapFile(MAP_FILE);

describe('the connection to a database in AWS', () => {
  it('goes to the proxy endpoint as the configured user, with TLS verified and a token signed for that endpoint', async () => {
    const signed: Parameters<TokenSigner>[0][] = [];
    const config = proxyConnection(dataMap, 'billing', (endpoint) => {
      signed.push(endpoint);
      return Promise.resolve('token-for-billing');
    });
    expect(config).toMatchObject({
      host: 'billing.proxy-c0ffee.eu-west-1.rds.amazonaws.com',
      port: 6432,
      user: 'billing_exporter',
      database: 'billing',
      ssl: { rejectUnauthorized: true, servername: 'billing.proxy-c0ffee.eu-west-1.rds.amazonaws.com' },
    });
    // The token is signed when the client connects, not when the configuration is made.
    expect(signed).toEqual([]);
    const password = config.password as () => Promise<string>;
    expect(await password()).toBe('token-for-billing');
    expect(signed).toEqual([{ hostname: 'billing.proxy-c0ffee.eu-west-1.rds.amazonaws.com', port: 6432, username: 'billing_exporter' }]);
  });

  it('is refused, naming the database, when its aws block or the database itself is missing', () => {
    const withoutAws = { ...dataMap, databases: { marketplace: { engine: 'postgres' as const, database: 'marketplace' } } };
    expect(() => proxyConnection(withoutAws, 'marketplace')).toThrow('databases.marketplace has no "aws" block');
    expect(() => proxyConnection(dataMap, 'nowhere')).toThrow('declares no database "nowhere"');
  });
});

describe('the handler', () => {
  it('builds the jobs table and staging clients only', () => {
    const built: string[] = [];
    const runtime: Runtime = {
      ...createObservability({ functionName: 'CollectDatabaseSource', logLevel: 'SILENT', tracing: false }),
      env: { JOBS_TABLE: 'Jobs', AUDIT_RETENTION_DAYS: '400', EXPORT_BUCKET: 'exports', EXPORT_KMS_KEY_ID: 'key', DATA_MAP_FILE: MAP_FILE, COLLECT_BUDGET_SECONDS: '600' },
      clock: () => new Date(0),
      client: <C extends SdkClient>(Client: ClientClass<C>) => {
        built.push(Client.name);
        return new Client({ region: 'eu-west-1' });
      },
    };
    createCollectDatabaseSourceHandler(runtime);
    expect(built.sort()).toEqual([DynamoDBClient.name, S3Client.name].sort());
  });
});
