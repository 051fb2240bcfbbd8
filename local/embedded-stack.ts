// The embedded stack: the whole export on one machine with no AWS account. It starts its own emulators,
// creates the jobs table and export bucket, builds every handler from the same factory Lambda uses, with
// a Runtime composed from the options (local/function-runtime.ts; nothing is read from or written to
// process.env, so two stacks can run in one process), and runs the same ASL file. Each function gets
// clients IAM checks against its role in the synthesized template (local/iam), as strictly as AWS. What
// has no emulator runs differently, checked against IAM too: the link signer (an HMAC key, not KMS), the
// workflow (the local runner), EventBridge (the runner calls ExecutionEnded) and Scheduler (sweep()).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createBundleArchiveHandler } from '../lambdas/bundle-archive.ts';
import { createCollectSourceHandler } from '../lambdas/collect-source.ts';
import { createCollectDatabaseSourceHandler } from '../lambdas/collect-database-source.ts';
import { DOWNLOAD_ROUTE, routeSpec, SUPPORT_ROUTES, USER_ROUTES } from '../lambdas/core/api/routes.ts';
import { assertAnswerable, loadDataMapFile, statesLegalFacts, type DataMap } from '../lambdas/core/data-map/data-map.ts';
import { HmacLinkSigner, type LinkSigner } from '../lambdas/core/delivery/link-token.ts';
import { DEFAULT_AUDIT_RETENTION_DAYS, JobStore, type Job } from '../lambdas/core/jobs/job-store.ts';
import { findRecipient, startExport, type LifecycleSettings, type StartRequest, type Workflow } from '../lambdas/core/lifecycle/export-lifecycle.ts';
import { DEFAULT_MAX_CONCURRENT_EXPORTS } from '../lambdas/core/lifecycle/admission.ts';
import { systemClock, type Clock } from '../lambdas/core/platform/clock.ts';
import type { Runtime, SdkClient } from '../lambdas/core/runtime.ts';
import { createDownloadHandler } from '../lambdas/download.ts';
import { createExecutionEndedHandler } from '../lambdas/execution-ended.ts';
import { createMarkFailedHandler } from '../lambdas/mark-failed.ts';
import { createPrepareExportHandler } from '../lambdas/prepare-export.ts';
import { createSendLinkHandler } from '../lambdas/send-link.ts';
import { createSupportApiHandler } from '../lambdas/support-api.ts';
import { createSweepExportsHandler } from '../lambdas/sweep-exports.ts';
import type { SweepResult } from '../lambdas/core/lifecycle/sweep-exports.ts';
import { createUserApiHandler } from '../lambdas/user-api.ts';
import { startEmulators, type Emulators } from './emulators.ts';
import { ReadMeter } from './read-meter.ts';
import {
  configurationOf,
  functionRuntime,
  lambdaInstances,
  operatorClients,
  type EmittedMetric,
  type LocalEndpoints,
  type LogEntry,
  type StackSettings,
} from './function-runtime.ts';
import { startStandIns, type StandInOptions, type StandIns } from './stand-ins.ts';
import { HttpGateway, type HttpHandler } from './http-gateway.ts';
import { enforceInvoke, enforceWorkflow } from './iam/enforce.ts';
import { LOCAL_NAMES, LOCAL_REGION } from './iam/local-resources.ts';
import { PolicyEnforcer, SWEEP_SCHEDULE } from './iam/policy-enforcer.ts';
import { synthesizedStack, type SynthesizedStack } from './iam/stack-template.ts';
import { LocalIdentityProvider } from './local-auth.ts';
import { LocalInbox } from './local-inbox.ts';
import { lambdaContext, LocalWorkflow, statusChangeEvent, type ExecutionOutcome, type TaskHandler, type TaskName } from './local-workflow.ts';
import { createStackStores, loadSeed } from './seed-loader.ts';
import type { Seed } from './seed.ts';
import { verifySigV4 } from './sigv4-verifier.ts';

export const LOCAL_EXPORT_BUCKET = LOCAL_NAMES.exportBucket;
export const LOCAL_JOBS_TABLE = LOCAL_NAMES.jobsTable;
export const LOCAL_SENDER = 'privacy@cartropic.com';
export { LOCAL_REGION };
export { linkInEmail, type ReceivedEmail } from './local-inbox.ts';

export interface EmbeddedStackOptions extends StackSettings {
  dataMapFile: string;
  /** Pause between ASL retries, replacing backoff (tests). */
  retryIntervalMs?: number;
  /** Port of the HTTP gateway (default: a free one). */
  port?: number;
  /** Wraps a task's handler, to inject faults the emulators cannot produce (tests). */
  wrapTask?: (task: TaskName, handler: TaskHandler) => TaskHandler;
  /** Called with each AWS client a function builds, to inject faults (throttling, a failing upload part: tests); IAM is checked inside. */
  wrapClient?: (client: SdkClient, functionName: string) => void;
  /**
   * The stack whose IAM is enforced, instead of the one synthesized from lib/ for these options: a test
   * passes a template with a grant taken away to watch the export fail as it would in AWS.
   */
  stackTemplate?: SynthesizedStack;
  /** Where handler log lines go (Powertools' JSON, parsed); silent by default so the demo's own progress stays readable. */
  logs?: (entry: LogEntry) => void;
  /** What time it is for every handler and the runner (retention, link expiry, cooldown, budgets); the system's by default. */
  clock?: Clock;
  /** Starts each database's server (default PGlite); a test hands in Debian's PostgreSQL to compare the two. */
  postgresServer?: StandInOptions['postgresServer'];
  /** Puts a ReadMeter in front of DynamoDB: what it consumed, measured on the store's side (load tests, the bench). */
  meterReads?: boolean;
}

/** What a started stack is made of. */
interface StackParts {
  dataMap: DataMap;
  clients: { dynamodb: DynamoDBClient; s3: S3Client };
  jobs: JobStore;
  workflow: LocalWorkflow;
  baseUrl: string;
  endpoints: LocalEndpoints;
  standIns: StandIns;
  signer: LinkSigner;
  identity: LocalIdentityProvider;
  gateway: HttpGateway;
  permissions: PolicyEnforcer;
  inbox: LocalInbox;
  metrics: EmittedMetric[];
  clock: Clock;
  settings: LifecycleSettings;
  sweep: () => Promise<SweepResult>;
  readMeter?: ReadMeter;
  workflowAs: (functionName: string) => Workflow;
  functionRuntime: (functionName: string) => Runtime;
  close: () => Promise<void>;
}

export class EmbeddedStack {
  readonly dataMap: DataMap;
  /** The operator's clients (tables, seed data); no function's. */
  readonly clients: StackParts['clients'];
  readonly jobs: JobStore;
  readonly workflow: LocalWorkflow;
  readonly baseUrl: string;
  readonly endpoints: LocalEndpoints;
  /** The data map's databases and user pools, as their stand-ins serve them. */
  readonly standIns: StandIns;
  /** The local link signer, so tests can mint tokens (expired ones, say) the way SendLink does. */
  readonly signer: LinkSigner;
  /** Signs users in (JWTs) and holds the support identity (SigV4), as the authorizers expect. */
  readonly identity: LocalIdentityProvider;
  /** Where local-only routes (sign-in, account page, inbox) are added by the local server. */
  readonly gateway: HttpGateway;
  /** IAM as enforced on every function: its decisions say what each function did. */
  readonly permissions: PolicyEnforcer;
  /** The emails local SES accepted. */
  readonly inbox: LocalInbox;
  /** Custom metrics the handlers emitted, as CloudWatch reads them from their EMF. */
  readonly metrics: EmittedMetric[];
  /** The clock every handler reads. */
  readonly clock: Clock;
  /** What DynamoDB consumed, as the emulator counted it (with `meterReads`). */
  readonly readMeter?: ReadMeter;
  readonly exportBucket = LOCAL_EXPORT_BUCKET;
  /** The Runtime a function runs with here: its configuration, clients under its role, the stack's clock. */
  readonly functionRuntime: (functionName: string) => Runtime;
  private readonly parts: StackParts;

  private constructor(parts: StackParts) {
    this.parts = parts;
    ({
      dataMap: this.dataMap,
      clients: this.clients,
      jobs: this.jobs,
      workflow: this.workflow,
      baseUrl: this.baseUrl,
      endpoints: this.endpoints,
      standIns: this.standIns,
      signer: this.signer,
      identity: this.identity,
      gateway: this.gateway,
      permissions: this.permissions,
      inbox: this.inbox,
      metrics: this.metrics,
      clock: this.clock,
      functionRuntime: this.functionRuntime,
      readMeter: this.readMeter,
    } = parts);
  }

  static async start(options: EmbeddedStackOptions): Promise<EmbeddedStack> {
    const dataMapFile = resolve(options.dataMapFile);
    const dataMap = loadDataMapFile(dataMapFile);
    // The demo and the local server answer access requests: a map that states legal facts must state them all.
    if (statesLegalFacts(dataMap)) assertAnswerable(dataMap, `The data map file ${dataMapFile}`);
    const clock = options.clock ?? systemClock;
    let emulators: Promise<Emulators> | undefined;
    let standInsStarting: Promise<StandIns> | undefined;
    let meter: ReadMeter | undefined;
    const identity = new LocalIdentityProvider();
    const gateway = new HttpGateway({
      jwt: (authorization) => identity.verifyToken(authorization),
      iam: (request) => {
        const verdict = verifySigV4(request, identity.supportCredentials, LOCAL_REGION);
        return Promise.resolve(verdict.ok ? { accessKey: verdict.accessKeyId, userArn: identity.supportArn } : { refused: verdict.reason });
      },
    });
    try {
      emulators = startEmulators();
      standInsStarting = startStandIns(dataMap, `The data map file ${dataMapFile}`, { postgresServer: options.postgresServer });
      const [synthesized, started, standIns] = await Promise.all([
        options.stackTemplate ?? synthesizedStack({ dataMapFile, senderEmail: LOCAL_SENDER, maxArchiveBytes: options.maxArchiveBytes }),
        emulators,
        standInsStarting,
      ]);
      meter = options.meterReads ? await ReadMeter.start(started.endpoints.dynamodb) : undefined;
      const endpoints: LocalEndpoints = { ...started.endpoints, ...(meter ? { dynamodb: meter.endpoint } : {}), cognito: standIns.cognitoEndpoint };
      const permissions = new PolicyEnforcer(synthesized, dataMap, { userPools: standIns.userPoolIds });
      const baseUrl = await gateway.listen(options.port ?? 0);
      const clients = operatorClients(endpoints);
      const metrics: EmittedMetric[] = [];
      const signer = new HmacLinkSigner(randomBytes(32));
      const configuration = configurationOf(options, { dataMapFile, publicBaseUrl: baseUrl, sender: LOCAL_SENDER });
      const runtimeOf = (functionName: string) =>
        functionRuntime(functionName, { endpoints, standIns, configuration, permissions, signer, clock, metrics, logs: options.logs, wrapClient: options.wrapClient });
      await createStackStores(clients);
      const auditRetentionDays = options.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS;
      const jobs = new JobStore(clients.dynamodb, LOCAL_JOBS_TABLE, { auditRetentionDays, now: clock });
      const wrap = options.wrapTask ?? ((_task, handler) => handler);
      /** A function as Lambda runs it here: instances built from its factory with its own Runtime. */
      const lambda = <A extends unknown[], R>(name: string, create: (runtime: Runtime) => (...args: A) => Promise<R>) => lambdaInstances(() => create(runtimeOf(name)));
      // Step Functions invokes each Task's function as the state machine's role.
      const task = (name: TaskName, create: (runtime: Runtime) => (event: never, context: Context) => Promise<unknown>) =>
        enforceInvoke(wrap(name, lambda(name, create) as TaskHandler), name, permissions);
      // Declared before the runner, which reports each ending to it; built after, with the runner to admit with.
      let executionEnded: (event: ReturnType<typeof statusChangeEvent>, context: Context) => Promise<unknown> = () => Promise.reject(new Error('ExecutionEnded is not built yet.'));
      const workflow = new LocalWorkflow({
        handlers: {
          PrepareExport: task('PrepareExport', createPrepareExportHandler),
          CollectSource: task('CollectSource', createCollectSourceHandler),
          ...(permissions.functionNames.includes('CollectDatabaseSource') ? { CollectDatabaseSource: task('CollectDatabaseSource', createCollectDatabaseSourceHandler) } : {}),
          BundleArchive: task('BundleArchive', createBundleArchiveHandler),
          SendLink: task('SendLink', createSendLinkHandler),
          MarkFailed: task('MarkFailed', createMarkFailedHandler),
        },
        retryIntervalMs: options.retryIntervalMs,
        timeoutSeconds: options.timeoutSeconds,
        clock,
        // In AWS an EventBridge rule sends every ending to ExecutionEnded; here the runner does.
        onEnd: async (input, status) => {
          await executionEnded(statusChangeEvent(input, status, clock()), lambdaContext('ExecutionEnded', 30, clock));
        },
      });
      /** The runner as a function reaches it: StartExecution and StopExecution checked against its role. */
      const workflowAs = (functionName: string) => enforceWorkflow(workflow, functionName, permissions);
      executionEnded = lambda('ExecutionEnded', (runtime) => createExecutionEndedHandler(runtime, workflowAs('ExecutionEnded')));
      // In AWS EventBridge Scheduler invokes the sweep daily, as its schedule's role; here a test does.
      const sweep = enforceInvoke(
        lambda('SweepExports', (runtime) => createSweepExportsHandler(runtime, workflowAs('SweepExports'))),
        'SweepExports',
        permissions,
        SWEEP_SCHEDULE,
      );
      const download = lambda('Download', createDownloadHandler);
      const userApi = lambda('UserApi', (runtime) => createUserApiHandler(runtime, workflowAs('UserApi')));
      const supportApi = lambda('SupportApi', (runtime) => createSupportApiHandler(runtime, workflowAs('SupportApi')));
      gateway.add({ ...routeSpec(DOWNLOAD_ROUTE), handler: () => download, auth: 'none' });
      for (const key of USER_ROUTES) gateway.add({ ...routeSpec(key), handler: () => userApi as unknown as HttpHandler, auth: 'jwt' });
      for (const key of SUPPORT_ROUTES) gateway.add({ ...routeSpec(key), handler: () => supportApi as unknown as HttpHandler, auth: 'iam' });

      return new EmbeddedStack({
        dataMap,
        clients,
        jobs,
        workflow,
        baseUrl,
        endpoints,
        standIns,
        signer,
        identity,
        gateway,
        permissions,
        inbox: new LocalInbox(endpoints.ses),
        metrics,
        clock,
        settings: {
          retentionDays: options.retentionDays ?? 7,
          responseDays: options.responseDays ?? 30,
          maxConcurrentExports: options.maxConcurrentExports ?? DEFAULT_MAX_CONCURRENT_EXPORTS,
        },
        workflowAs,
        sweep: () => sweep({}, lambdaContext('SweepExports', 300, clock)),
        readMeter: meter,
        functionRuntime: runtimeOf,
        close: async () => {
          try {
            await workflow.drain();
            await gateway.close();
          } finally {
            await Promise.allSettled([started.close(), standIns.close(), meter?.close()]);
          }
        },
      });
    } catch (error) {
      await gateway.close().catch(() => undefined);
      await meter?.close().catch(() => undefined);
      // The emulators may still be starting when synthesis failed: they stop once they have.
      await emulators?.then((started) => started.close()).catch(() => undefined);
      await standInsStarting?.then((started) => started.close()).catch(() => undefined);
      throw error;
    }
  }

  get dynamodb(): DynamoDBClient {
    return this.clients.dynamodb;
  }

  get s3(): S3Client {
    return this.clients.s3;
  }

  /** Loads a seed into the emulators and stand-ins; the data map's PostgreSQL sources are then tried once, so a broken one fails here. */
  async loadSeed(seed: Seed, origin = 'seed'): Promise<{ items: number; objects: number; statements: number; users: number }> {
    const loaded = await loadSeed(seed, this.dataMap, this.clients, origin);
    return { ...loaded, ...(await this.standIns.seed(seed, origin)) };
  }

  startExport(request: StartRequest): Promise<Job> {
    return startExport(request, { jobs: this.jobs, workflow: this.workflow, dataMap: this.dataMap, settings: this.parts.settings, now: this.clock });
  }

  /** The workflow as a function reaches it (StartExecution/StopExecution under its role), for a handler a test builds itself. */
  workflowAs(functionName: string): Workflow {
    return this.parts.workflowAs(functionName);
  }

  /** Runs the daily sweep now, on the stack's clock, as the schedule would. */
  sweep(): Promise<SweepResult> {
    return this.parts.sweep();
  }

  async waitForExport(exportId: string): Promise<{ outcome: ExecutionOutcome; job: Job }> {
    const outcome = await this.workflow.wait(exportId);
    const job = await this.jobs.get(exportId);
    if (!job) throw new Error(`Export ${exportId} has no job row.`);
    return { outcome, job };
  }

  /** A JWT for the user, with the email address on file, as the account page's identity provider would issue. */
  async signIn(userId: string): Promise<string> {
    return this.identity.issueToken(userId, await findRecipient(this.dataMap, this.dynamodb, userId));
  }

  stop(): Promise<void> {
    return this.parts.close();
  }
}
