// What one function runs with in the embedded stack: the Runtime the Lambda one stands for, composed
// from the stack's options instead of the process's environment. Its clients are pointed at the
// emulators and checked against the function's role, its configuration is only what the template
// gives it, and its logs and metrics go to the stack's sinks instead of stdout.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { LinkSigner } from '../lambdas/core/delivery/link-token.ts';
import type { Clock } from '../lambdas/core/platform/clock.ts';
import { DEFAULT_AUDIT_RETENTION_DAYS } from '../lambdas/core/jobs/job-store.ts';
import { DEFAULT_BUNDLE_BUDGET_SECONDS, ENV, type Env } from '../lambdas/core/platform/config.ts';
import { createObservability } from '../lambdas/core/platform/observability.ts';
import { DEFAULT_MAX_CONCURRENT_EXPORTS } from '../lambdas/core/lifecycle/admission.ts';
import { exportTimeoutSeconds } from '../state-machines/definition.ts';
import { clientCache, type ClientClass, type ClientConfig, type LocalStores, type Runtime, type SdkClient } from '../lambdas/core/runtime.ts';
import type { Emulators } from './emulators.ts';
import { authorizeDatabaseConnect, enforceClient, enforceSigner } from './iam/enforce.ts';
import type { StandIns } from './stand-ins.ts';
import { LOCAL_DATA_KEY_ARN, LOCAL_LINK_KEY_ARN, LOCAL_NAMES, LOCAL_REGION, LOCAL_STATE_MACHINE_ARN } from './iam/local-resources.ts';
import type { PolicyEnforcer } from './iam/policy-enforcer.ts';

/** A metric as CloudWatch reads it from the EMF document a function wrote. */
export interface EmittedMetric {
  functionName: string;
  namespace: string;
  name: string;
  unit: string;
  value: number;
  dimensions: Record<string, string>;
}

/** A log line as a function wrote it (Powertools' JSON). */
export type LogEntry = Record<string, unknown>;

/** Where each emulated service answers; Cognito only when the data map declares user pools. */
export type LocalEndpoints = Emulators['endpoints'] & { cognito?: string };

export interface FunctionRuntimeOptions {
  endpoints: LocalEndpoints;
  /** The data map's databases and pools, as their stand-ins serve them. */
  standIns?: Pick<StandIns, 'database' | 'userPoolId'>;
  /** Every configuration variable of the stack; the function sees those its template gives it. */
  configuration: Env;
  permissions: PolicyEnforcer;
  signer: LinkSigner;
  clock: Clock;
  metrics: EmittedMetric[];
  /** Where log lines go; unset, the function logs nothing. */
  logs?: (entry: LogEntry) => void;
  /** Called with each client a function builds (fault injection in tests); IAM is checked inside it. */
  wrapClient?: (client: SdkClient, functionName: string) => void;
}

/** The embedded stack's settings that become configuration variables (EmbeddedStackOptions has them all). */
export interface StackSettings {
  /** Hours a download link is valid (default 72, as deployed). */
  linkTtlHours?: number;
  /** Days an archive is kept (default 7, as deployed). */
  retentionDays?: number;
  /** Days within which a request must be answered: each job's dueBy (default 30, as deployed). */
  responseDays?: number;
  /** Hours before dueBy from which an unanswered export counts toward ExportsNearDue (default 72, as deployed). */
  dueAlarmHours?: number;
  /** Hours between self-service exports (default 24, as deployed). */
  cooldownHours?: number;
  /** Days audit rows are kept (default 400, as deployed). */
  auditRetentionDays?: number;
  /** Upper bound of one CollectSource call; small values make sources loop (tests of the cursor). */
  collectBudgetSeconds?: number;
  /** BundleArchive's time budget per call (BUNDLE_BUDGET_SECONDS); a tiny one makes every call stop after a block. */
  bundleBudgetSeconds?: number;
  /** Split archives into parts of at most this many bytes (MAX_ARCHIVE_BYTES); unset, one ZIP. */
  maxArchiveBytes?: number;
  /** Overrides the whole machine's TimeoutSeconds, for the runner and the sweeper alike (tests of the timeout path). */
  timeoutSeconds?: number;
  /** Executions that may run at once (default 50, as deployed); further exports wait as QUEUED. */
  maxConcurrentExports?: number;
}

/** The stack's configuration variables, as the template sets them in AWS, with the local values. */
export function configurationOf(options: StackSettings, given: { dataMapFile: string; publicBaseUrl: string; sender: string }): Env {
  return {
    JOBS_TABLE: LOCAL_NAMES.jobsTable,
    EXPORT_BUCKET: LOCAL_NAMES.exportBucket,
    EXPORT_KMS_KEY_ID: LOCAL_DATA_KEY_ARN,
    LINK_SIGNING_KEY_ID: LOCAL_LINK_KEY_ARN,
    STATE_MACHINE_ARN: LOCAL_STATE_MACHINE_ARN,
    DATA_MAP_FILE: given.dataMapFile,
    SENDER_EMAIL: given.sender,
    PUBLIC_BASE_URL: given.publicBaseUrl,
    LINK_TTL_HOURS: String(options.linkTtlHours ?? 72),
    RETENTION_DAYS: String(options.retentionDays ?? 7),
    RESPONSE_DAYS: String(options.responseDays ?? 30),
    DUE_ALARM_HOURS: String(options.dueAlarmHours ?? 72),
    EXECUTION_TIMEOUT_SECONDS: String(options.timeoutSeconds ?? exportTimeoutSeconds()),
    COOLDOWN_HOURS: String(options.cooldownHours ?? 24),
    MAX_CONCURRENT_EXPORTS: String(options.maxConcurrentExports ?? DEFAULT_MAX_CONCURRENT_EXPORTS),
    AUDIT_RETENTION_DAYS: String(options.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS),
    COLLECT_BUDGET_SECONDS: String(options.collectBudgetSeconds ?? 600),
    BUNDLE_BUDGET_SECONDS: String(options.bundleBudgetSeconds ?? DEFAULT_BUNDLE_BUDGET_SECONDS),
    ...(options.maxArchiveBytes === undefined ? {} : { MAX_ARCHIVE_BYTES: String(options.maxArchiveBytes) }),
  };
}

/** The emulators' credentials: none of them checks a signature, but every SDK client wants one. */
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** The configuration that points a client at its emulator, as AWS_ENDPOINT_URL_<SERVICE> would. */
export function localClientConfig(Client: ClientClass<SdkClient>, endpoints: LocalEndpoints): ClientConfig {
  const endpoint = new Map<unknown, string | undefined>([
    [DynamoDBClient, endpoints.dynamodb],
    [S3Client, endpoints.s3],
    [SESv2Client, endpoints.ses],
    [CognitoIdentityProviderClient, endpoints.cognito],
  ]).get(Client);
  if (!endpoint) {
    throw new Error(
      Client === CognitoIdentityProviderClient
        ? 'The data map declares no userPools, so the embedded stack started no cognito-local.'
        : `The embedded stack has no stand-in for ${Client.name}; the Runtime's signer and workflow replace KMS and Step Functions.`,
    );
  }
  return {
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint,
    // S3 emulators answer only path-style requests.
    forcePathStyle: true,
    // s3rver would otherwise store streamed uploads with their aws-chunked framing inside.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** The stack's own clients, which set up tables and seed data as an operator would; they are no function's. */
export function operatorClients(endpoints: LocalEndpoints): { dynamodb: DynamoDBClient; s3: S3Client } {
  return { dynamodb: new DynamoDBClient(localClientConfig(DynamoDBClient, endpoints)), s3: new S3Client(localClientConfig(S3Client, endpoints)) };
}

/**
 * Powertools writes through a Console it makes at construction, on stdout. Locally the lines go to the
 * stack's sink instead, parsed, so tests read what CloudWatch would.
 */
function writeLinesTo(instance: Logger | Metrics, sink: (line: string) => void): void {
  const write = (line: unknown) => sink(String(line));
  Object.assign(instance, { console: { log: write, info: write, warn: write, error: write, debug: write, trace: write } });
}

export function functionRuntime(functionName: string, options: FunctionRuntimeOptions): Runtime {
  const { logs } = options;
  // No X-Ray daemon runs locally; the clients still pass through the tracer, as in AWS.
  const { logger, metrics, tracer } = createObservability({ functionName, logLevel: logs ? 'DEBUG' : 'SILENT', tracing: false });
  if (logs) writeLinesTo(logger, (line) => logs(JSON.parse(line) as LogEntry));
  writeLinesTo(metrics, (line) => options.metrics.push(...emittedMetrics(functionName, JSON.parse(line) as EmfDocument)));
  const given = new Set(options.permissions.environmentOf(functionName));
  return {
    env: Object.fromEntries(Object.entries(options.configuration).filter(([name]) => !(name in ENV) || given.has(name))),
    logger,
    metrics,
    tracer,
    clock: options.clock,
    stores: options.standIns && storesOf(options.standIns, functionName, options.permissions),
    signer: enforceSigner(options.signer, functionName, options.permissions),
    client: clientCache((Client) => {
      const client = enforceClient(tracer.captureAWSv3Client(new Client(localClientConfig(Client, options.endpoints))), functionName, options.permissions);
      options.wrapClient?.(client, functionName);
      return client;
    }),
  };
}

/** The stand-ins as a function reaches them: a database only where its role may connect, as RDS Proxy's IAM authentication decides. */
function storesOf(standIns: Pick<StandIns, 'database' | 'userPoolId'>, functionName: string, permissions: PolicyEnforcer): LocalStores {
  return {
    database: async (name) => {
      await authorizeDatabaseConnect(permissions, functionName, name);
      return standIns.database(name);
    },
    userPoolId: (name) => standIns.userPoolId(name),
  };
}

interface EmfDocument {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

/** The metrics an EMF document declares, each with its dimension values, as CloudWatch extracts them. */
function emittedMetrics(functionName: string, document: EmfDocument): EmittedMetric[] {
  return document._aws.CloudWatchMetrics.flatMap((directive) =>
    directive.Metrics.flatMap((metric) => {
      const dimensions = Object.fromEntries((directive.Dimensions[0] ?? []).map((name) => [name, String(document[name])]));
      const values = document[metric.Name];
      return (Array.isArray(values) ? values : [values]).map((value) => ({
        functionName,
        namespace: directive.Namespace,
        name: metric.Name,
        unit: metric.Unit,
        value: Number(value),
        dimensions,
      }));
    }),
  );
}

/**
 * A function as Lambda runs it: each invocation on an instance of its own, an idle one reused (warm) or
 * a new one built (a cold start), so invocations that overlap never share a handler's state (its log
 * keys, its metrics). The first instance is built at once, so a function that cannot start fails the
 * stack's start, as a broken deploy would.
 */
export function lambdaInstances<A extends unknown[], R>(build: () => (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  const idle = [build()];
  return async (...args: A) => {
    const instance = idle.pop() ?? build();
    try {
      return await instance(...args);
    } finally {
      idle.push(instance);
    }
  };
}
