// The Lambda runtime as a function gets it in AWS: from the environment Lambda sets, with every SDK
// client built once per class and traced by the Tracer (its X-Ray middleware on the client's stack).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Runtime } from '../../lambdas/core/runtime.ts';

let runtime: Runtime;

beforeAll(async () => {
  // What Lambda sets for a function (the Tracer is on only inside Lambda).
  vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs22.x');
  vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'CollectSource');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
  vi.stubEnv('_X_AMZN_TRACE_ID', 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1');
  vi.resetModules();
  const { awsRuntime } = await import('../../lambdas/core/runtime.ts');
  runtime = awsRuntime();
});

afterAll(() => {
  vi.unstubAllEnvs();
});

describe('the Lambda runtime', () => {
  it('builds each client once, on first use, and traces it', () => {
    const s3 = runtime.client(S3Client);
    expect(runtime.client(S3Client)).toBe(s3);
    const dynamodb = runtime.client(DynamoDBClient);
    for (const client of [s3, dynamodb]) expect(client.middlewareStack.identify().some((name) => name.startsWith('XRaySDKInstrumentation'))).toBe(true);
  });

  it('configures clients from what Lambda sets: its region, S3 addressed as AWS addresses it', async () => {
    expect(runtime.client(S3Client).config.forcePathStyle).toBe(false);
    expect(await runtime.client(S3Client).config.region()).toBe('eu-west-1');
    expect(runtime.env.AWS_LAMBDA_FUNCTION_NAME).toBe('CollectSource');
  });

  it('logs, counts and traces as the service, in the namespace the alarms read', () => {
    expect(runtime.tracer.isTracingEnabled()).toBe(true);
    expect(runtime.metrics.serializeMetrics()._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'UserDataExport', Dimensions: [['service']] });
  });
});
