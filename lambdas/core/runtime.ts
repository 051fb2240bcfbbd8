// The composition root for Lambda: AWS clients from the standard environment (AWS_ENDPOINT_URL_<SERVICE>
// redirects them to emulators locally) and the KMS link signer. The embedded stack composes its own
// Runtime with a local HMAC key instead; handlers never know which one they got.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { parseEnv, pickEnv, type Env } from './platform/config.ts';
import { KmsLinkSigner, type LinkSigner } from './delivery/link-token.ts';

export interface Clients {
  dynamodb: DynamoDBClient;
  s3: S3Client;
  ses: SESv2Client;
  sfn: SFNClient;
}

export type MetricUnit = 'Bytes' | 'Count' | 'Milliseconds';
export type EmitMetric = (name: string, value: number, unit: MetricUnit) => void;

export interface Runtime {
  env: Env;
  clients: Clients;
  signer: LinkSigner;
  log: (message: string, details?: unknown) => void;
  /** A custom metric in the UserDataExport namespace (alarms and the dashboard read them). */
  metric: EmitMetric;
}

/**
 * CloudWatch embedded metric format, written straight to stdout: with Lambda's JSON log format a
 * console.log line would be wrapped in {"message": …} and no longer be read as a metric.
 */
const emfMetric: EmitMetric = (name, value, unit) => {
  process.stdout.write(
    JSON.stringify({
      _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: 'UserDataExport', Dimensions: [[]], Metrics: [{ Name: name, Unit: unit }] }] },
      [name]: value,
    }) + '\n',
  );
};

export function createClients(env: Env): Clients {
  return {
    dynamodb: new DynamoDBClient({}),
    // S3 emulators answer only path-style requests; real S3 takes both, so this is plain configuration.
    s3: new S3Client({ forcePathStyle: env.AWS_S3_FORCE_PATH_STYLE === 'true' }),
    ses: new SESv2Client({}),
    sfn: new SFNClient({}),
  };
}

const jsonLog = (message: string, details?: unknown) =>
  console.log(JSON.stringify({ message, details: details instanceof Error ? { name: details.name, message: details.message } : details }));

let aws: Runtime | undefined;

export function awsRuntime(): Runtime {
  if (!aws) {
    const env = process.env;
    let signer: LinkSigner | undefined;
    aws = {
      env,
      clients: createClients(env),
      // Only SendLink and Download hold the HMAC key's id; they read the signer while building their
      // handler (the cold start), so a missing variable still fails fast, and only where it matters.
      get signer() {
        signer ??= new KmsLinkSigner(new KMSClient({}), parseEnv(pickEnv('LINK_SIGNING_KEY_ID'), env).LINK_SIGNING_KEY_ID);
        return signer;
      },
      log: jsonLog,
      metric: emfMetric,
    };
  }
  return aws;
}

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/**
 * The Lambda entry point of a handler module: built on the first invocation (the cold start) from the
 * AWS runtime, then reused. Importing a handler module therefore never reads the environment.
 */
export function lambdaEntry<E, R>(factory: (runtime: Runtime) => Handler<E, R>): Handler<E, R> {
  let built: Handler<E, R> | undefined;
  return (event, context) => {
    built ??= factory(awsRuntime());
    return built(event, context);
  };
}
