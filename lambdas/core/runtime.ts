// The composition root for Lambda: a function's configuration, its AWS clients (each built when its
// handler first asks, so a bundle holds only the clients its handler uses), its clock and its
// observability. The embedded stack composes its own Runtime, with emulator endpoints, IAM checked on
// every client and a local HMAC key instead of KMS; handlers never know which one they got.
import type pg from 'pg';
import { KMSClient } from '@aws-sdk/client-kms';
import type { Context } from 'aws-lambda';
import { KmsLinkSigner, type LinkSigner } from './delivery/link-token.ts';
import { systemClock, type Clock } from './platform/clock.ts';
import { parseEnv, pickEnv, type Env } from './platform/config.ts';
import { createObservability, type Observability } from './platform/observability.ts';

/** An AWS SDK v3 client: what the runtime builds, traces and (locally) checks against IAM. */
export interface SdkClient {
  send(command: never): Promise<unknown>;
  middlewareStack: unknown;
}

/** The client configuration the runtime passes; each SDK client takes these (S3 reads forcePathStyle). */
export interface ClientConfig {
  forcePathStyle?: boolean;
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  requestChecksumCalculation?: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
  responseChecksumValidation?: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
}

export type ClientClass<C extends SdkClient> = new (config: ClientConfig) => C;

export interface Runtime extends Observability {
  /** The function's configuration variables. */
  env: Env;
  /** The function's client of this class: built on first use, then the same one. */
  client<C extends SdkClient>(Client: ClientClass<C>): C;
  /** What time it is: retention, link expiry, cooldown and time budgets all read this. */
  clock: Clock;
  /** A signer that stands in for KMS (the embedded stack's); unset in AWS, where linkSigner builds the KMS one. */
  signer?: LinkSigner;
  /**
   * Where the data map's databases and user pools are when not where its `aws` blocks say: the embedded
   * stack's stand-ins. Unset in AWS, where a database is reached through its RDS Proxy with IAM
   * authentication and a pool by its id.
   */
  stores?: LocalStores;
}

export interface LocalStores {
  /** How to connect to the database the data map declares under this name (checked against the function's role). */
  database(name: string): Promise<pg.ClientConfig>;
  /** The id of the user pool the data map declares under this name. */
  userPoolId(name: string): string;
}

/** A client factory that builds each class once, with `build`. */
export function clientCache(build: <C extends SdkClient>(Client: ClientClass<C>) => C): Runtime['client'] {
  const built = new Map<unknown, SdkClient>();
  return <C extends SdkClient>(Client: ClientClass<C>): C => {
    let client = built.get(Client) as C | undefined;
    if (!client) built.set(Client, (client = build(Client)));
    return client;
  };
}

let aws: Runtime | undefined;

/** The Lambda runtime: the environment Lambda gives the function, the SDK's own credential and endpoint resolution, and tracing on. */
export function awsRuntime(): Runtime {
  if (!aws) {
    const env = process.env;
    const observability = createObservability();
    const { tracer } = observability;
    aws = {
      env,
      ...observability,
      clock: systemClock,
      // Region, credentials and endpoints as the SDK resolves them from what Lambda sets.
      client: clientCache((Client) => tracer.captureAWSv3Client(new Client({}))),
    };
  }
  return aws;
}

const kmsSigners = new WeakMap<Runtime, LinkSigner>();

/**
 * The link signer of a function that signs or verifies links: the runtime's stand-in, or the KMS HMAC
 * key named by LINK_SIGNING_KEY_ID. Only the handlers that call this bundle the KMS client, and a
 * missing key id fails their cold start, where it matters.
 */
export function linkSigner(runtime: Runtime): LinkSigner {
  // Read first, stand-in or not: a function the template gives no key id fails here as it would in AWS.
  const keyId = parseEnv(pickEnv('LINK_SIGNING_KEY_ID'), runtime.env).LINK_SIGNING_KEY_ID;
  if (runtime.signer) return runtime.signer;
  let signer = kmsSigners.get(runtime);
  if (!signer) kmsSigners.set(runtime, (signer = new KmsLinkSigner(runtime.client(KMSClient), keyId)));
  return signer;
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
