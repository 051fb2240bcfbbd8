// The embedded stack: the whole export on one machine with no AWS account. It starts the emulators,
// points the AWS SDK at them through the standard AWS_ENDPOINT_URL_<SERVICE> variables, creates the jobs
// table and export bucket, builds every handler from the same factory Lambda uses, and runs the same
// ASL file. Each function gets clients of its own that IAM checks against its role in the synthesized
// template (local/iam), as strictly as AWS. What runs differently, because no emulator exists: the link
// signer (a random HMAC key instead of KMS), the workflow (the local runner instead of Step Functions),
// and EventBridge (the runner calls ExecutionEnded itself); each of those is checked against IAM too.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { createBundleArchiveHandler } from '../lambdas/bundle-archive.ts';
import { createCollectSourceHandler } from '../lambdas/collect-source.ts';
import { loadDataMapFile, type DataMap } from '../lambdas/core/data-map/data-map.ts';
import { findRecipient, startExport, type StartRequest, type UnhandledEnding, type WorkflowInput } from '../lambdas/core/lifecycle/export-lifecycle.ts';
import { createExecutionEndedHandler } from '../lambdas/execution-ended.ts';
import { DOWNLOAD_ROUTE, routeSpec, SUPPORT_ROUTES, USER_ROUTES } from '../lambdas/core/api/routes.ts';
import { createSupportApiHandler } from '../lambdas/support-api.ts';
import { createUserApiHandler } from '../lambdas/user-api.ts';
import { LocalIdentityProvider } from './local-auth.ts';
import { DEFAULT_AUDIT_RETENTION_DAYS, JOBS_TABLE_SCHEMA, JobStore, type Job } from '../lambdas/core/jobs/job-store.ts';
import { HmacLinkSigner, type LinkSigner } from '../lambdas/core/delivery/link-token.ts';
import { DEFAULT_BUNDLE_BUDGET_SECONDS, ENV } from '../lambdas/core/platform/config.ts';
import { createClients, type Clients, type Runtime } from '../lambdas/core/runtime.ts';
import { createDownloadHandler } from '../lambdas/download.ts';
import { createMarkFailedHandler } from '../lambdas/mark-failed.ts';
import { createPrepareExportHandler } from '../lambdas/prepare-export.ts';
import { createSendLinkHandler } from '../lambdas/send-link.ts';
import { startEmulators, type Emulators } from './emulators.ts';
import { HttpGateway, type HttpHandler } from './http-gateway.ts';
import { verifySigV4 } from './sigv4-verifier.ts';
import { enforceClients, enforceInvoke, enforceSigner, enforceWorkflow } from './iam/enforce.ts';
import { LOCAL_DATA_KEY_ARN, LOCAL_LINK_KEY_ARN, LOCAL_NAMES, LOCAL_REGION, LOCAL_STATE_MACHINE_ARN } from './iam/local-resources.ts';
import { PolicyEnforcer } from './iam/policy-enforcer.ts';
import { synthesizedStack, type SynthesizedStack } from './iam/stack-template.ts';
import { lambdaContext, LocalWorkflow, type ExecutionOutcome, type TaskHandler, type TaskName } from './local-workflow.ts';
import { createBucket, createTable, loadSeed } from './seed-loader.ts';
import type { Seed } from './seed.ts';

export const LOCAL_EXPORT_BUCKET = LOCAL_NAMES.exportBucket;
export const LOCAL_JOBS_TABLE = LOCAL_NAMES.jobsTable;
export const LOCAL_SENDER = 'privacy@cartropic.com';
export { LOCAL_REGION };

export interface EmbeddedStackOptions {
  dataMapFile: string;
  linkTtlHours?: number;
  retentionDays?: number;
  /** Upper bound of one CollectSource call; small values make sources loop (tests of the cursor). */
  collectBudgetSeconds?: number;
  /** BundleArchive's time budget per call (BUNDLE_BUDGET_SECONDS); a tiny one makes every call stop after a block. */
  bundleBudgetSeconds?: number;
  /** Pause between ASL retries, replacing backoff (tests). */
  retryIntervalMs?: number;
  /** Whole-machine timeout override (tests). */
  timeoutSeconds?: number;
  /** Hours between self-service exports (default 24, as deployed). */
  cooldownHours?: number;
  /** Days audit rows are kept (default 400, as deployed). */
  auditRetentionDays?: number;
  /** Split archives into parts of at most this many bytes (MAX_ARCHIVE_BYTES); unset, one ZIP. */
  maxArchiveBytes?: number;
  /** Port of the HTTP gateway (default: a free one). */
  port?: number;
  /** Wraps a task's handler, to inject faults the emulators cannot produce (tests). */
  wrapTask?: (task: TaskName, handler: TaskHandler) => TaskHandler;
  /** Wraps each function's AWS clients (throttling, a failing upload part: tests); IAM is checked inside. */
  wrapClients?: (clients: Clients, functionName: string) => Clients;
  /**
   * The stack whose IAM is enforced, instead of the one synthesized from lib/ for these options: a test
   * passes a template with a grant taken away to watch the export fail as it would in AWS.
   */
  stackTemplate?: SynthesizedStack;
  /** Where handler logs go; silent by default so the demo's own progress stays readable. */
  log?: Runtime['log'];
}

export interface ReceivedEmail {
  messageId: string;
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { html?: string; text?: string };
  at: number;
}

let running = false;

export class EmbeddedStack {
  private constructor(
    readonly dataMap: DataMap,
    readonly clients: Clients,
    readonly jobs: JobStore,
    readonly workflow: LocalWorkflow,
    readonly baseUrl: string,
    readonly endpoints: Emulators['endpoints'],
    /** The local link signer, so tests can mint tokens (expired ones, say) the way SendLink does. */
    readonly signer: LinkSigner,
    /** Custom metrics the handlers emitted (CloudWatch receives them in AWS). */
    readonly metrics: { name: string; value: number }[],
    /** Signs users in (JWTs) and holds the support identity (SigV4), as the authorizers expect. */
    readonly identity: LocalIdentityProvider,
    /** Where local-only routes (sign-in, account page, inbox) are added by the local server. */
    readonly gateway: HttpGateway,
    /** IAM as enforced on every function: its decisions say what each function did. */
    readonly permissions: PolicyEnforcer,
    private readonly settings: { retentionDays: number },
    private readonly closeAll: () => Promise<void>,
  ) {}

  static async start(options: EmbeddedStackOptions): Promise<EmbeddedStack> {
    // The SDK reads endpoints and credentials from process.env, which one process has only one of.
    if (running) throw new Error('An embedded stack is already running in this process; stop it first.');
    running = true;
    const dataMapFile = resolve(options.dataMapFile);
    const dataMap = loadDataMapFile(dataMapFile);
    let emulators: Emulators | undefined;
    const identity = new LocalIdentityProvider();
    const gateway = new HttpGateway({
      jwt: (authorization) => identity.verifyToken(authorization),
      iam: (request) => {
        const verdict = verifySigV4(request, identity.supportCredentials, LOCAL_REGION);
        return Promise.resolve(verdict.ok ? { accessKey: verdict.accessKeyId, userArn: identity.supportArn } : { refused: verdict.reason });
      },
    });
    try {
      const settings = { retentionDays: options.retentionDays ?? 7, linkLifetimeHours: options.linkTtlHours ?? 72, cooldownHours: options.cooldownHours ?? 24 };
      const [synthesized, started] = await Promise.all([
        options.stackTemplate ?? synthesizedStack({ dataMapFile, senderEmail: LOCAL_SENDER, maxArchiveBytes: options.maxArchiveBytes }),
        startEmulators(),
      ]);
      emulators = started;
      const permissions = new PolicyEnforcer(synthesized, dataMap);
      const baseUrl = await gateway.listen(options.port ?? 0);
      Object.assign(process.env, {
        AWS_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
        AWS_ENDPOINT_URL_S3: emulators.endpoints.s3,
        AWS_ENDPOINT_URL_SESV2: emulators.endpoints.ses,
        // s3rver would otherwise store streamed uploads with their aws-chunked framing inside.
        AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
        AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
        AWS_S3_FORCE_PATH_STYLE: 'true',
        JOBS_TABLE: LOCAL_JOBS_TABLE,
        EXPORT_BUCKET: LOCAL_EXPORT_BUCKET,
        EXPORT_KMS_KEY_ID: LOCAL_DATA_KEY_ARN,
        LINK_SIGNING_KEY_ID: LOCAL_LINK_KEY_ARN,
        STATE_MACHINE_ARN: LOCAL_STATE_MACHINE_ARN,
        DATA_MAP_FILE: dataMapFile,
        SENDER_EMAIL: LOCAL_SENDER,
        PUBLIC_BASE_URL: baseUrl,
        LINK_TTL_HOURS: String(settings.linkLifetimeHours),
        RETENTION_DAYS: String(settings.retentionDays),
        COOLDOWN_HOURS: String(settings.cooldownHours),
        AUDIT_RETENTION_DAYS: String(options.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS),
        COLLECT_BUDGET_SECONDS: String(options.collectBudgetSeconds ?? 600),
        BUNDLE_BUDGET_SECONDS: String(options.bundleBudgetSeconds ?? DEFAULT_BUNDLE_BUDGET_SECONDS),
      });
      if (options.maxArchiveBytes === undefined) delete process.env.MAX_ARCHIVE_BYTES;
      else process.env.MAX_ARCHIVE_BYTES = String(options.maxArchiveBytes);
      delete process.env.AWS_PROFILE;
      // The stack's own clients set up tables and seed data, as an operator would; they are not a function's.
      const clients = createClients(process.env);
      const metrics: { name: string; value: number }[] = [];
      const signer = new HmacLinkSigner(randomBytes(32));
      /**
       * What one function runs with: clients of its own and the signer, all under its role, and only the
       * configuration variables the template gives it (a handler reading one it would not have in AWS
       * fails here as it would there; the values are the local ones).
       */
      const runtimeOf = (functionName: string): Runtime => {
        const own = enforceClients(createClients(process.env), functionName, permissions);
        const given = new Set(permissions.environmentOf(functionName));
        const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !(name in ENV) || given.has(name)));
        return {
          env,
          clients: options.wrapClients ? options.wrapClients(own, functionName) : own,
          signer: enforceSigner(signer, functionName, permissions),
          log: options.log ?? (() => undefined),
          metric: (name, value) => metrics.push({ name, value }),
        };
      };
      await createTable(clients.dynamodb, LOCAL_JOBS_TABLE, {
        partitionKey: JOBS_TABLE_SCHEMA.partitionKey,
        sortKey: JOBS_TABLE_SCHEMA.sortKey,
        indexes: { [JOBS_TABLE_SCHEMA.byUserIndex.name]: { partitionKey: JOBS_TABLE_SCHEMA.byUserIndex.partitionKey, sortKey: JOBS_TABLE_SCHEMA.byUserIndex.sortKey } },
      });
      await createBucket(clients.s3, LOCAL_EXPORT_BUCKET);

      const jobs = new JobStore(clients.dynamodb, LOCAL_JOBS_TABLE, { auditRetentionDays: options.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS });
      const wrap = options.wrapTask ?? ((_task, handler) => handler);
      // Step Functions invokes each Task's function as the state machine's role.
      const task = (name: TaskName, handler: unknown) => enforceInvoke(wrap(name, handler as TaskHandler), name, permissions);
      const executionEnded = createExecutionEndedHandler(runtimeOf('ExecutionEnded'));
      const workflow = new LocalWorkflow({
        handlers: {
          PrepareExport: task('PrepareExport', createPrepareExportHandler(runtimeOf('PrepareExport'))),
          CollectSource: task('CollectSource', createCollectSourceHandler(runtimeOf('CollectSource'))),
          BundleArchive: task('BundleArchive', createBundleArchiveHandler(runtimeOf('BundleArchive'))),
          SendLink: task('SendLink', createSendLinkHandler(runtimeOf('SendLink'))),
          MarkFailed: task('MarkFailed', createMarkFailedHandler(runtimeOf('MarkFailed'))),
        },
        retryIntervalMs: options.retryIntervalMs,
        timeoutSeconds: options.timeoutSeconds,
        // In AWS an EventBridge rule sends these endings to ExecutionEnded; here the runner does.
        onUnhandledEnd: async (input, status) => {
          await executionEnded(statusChangeEvent(input, status), lambdaContext('ExecutionEnded', 30));
        },
      });
      const download = createDownloadHandler(runtimeOf('Download'));
      const userApi = createUserApiHandler(runtimeOf('UserApi'), enforceWorkflow(workflow, 'UserApi', permissions));
      const supportApi = createSupportApiHandler(runtimeOf('SupportApi'), enforceWorkflow(workflow, 'SupportApi', permissions));
      gateway.add({ ...routeSpec(DOWNLOAD_ROUTE), handler: () => download, auth: 'none' });
      for (const key of USER_ROUTES) gateway.add({ ...routeSpec(key), handler: () => userApi as unknown as HttpHandler, auth: 'jwt' });
      for (const key of SUPPORT_ROUTES) gateway.add({ ...routeSpec(key), handler: () => supportApi as unknown as HttpHandler, auth: 'iam' });

      const stack = new EmbeddedStack(
        dataMap,
        clients,
        jobs,
        workflow,
        baseUrl,
        emulators.endpoints,
        signer,
        metrics,
        identity,
        gateway,
        permissions,
        { retentionDays: settings.retentionDays },
        async () => {
          await workflow.drain();
          await gateway.close();
          await emulators?.close();
        },
      );
      return stack;
    } catch (error) {
      await gateway.close().catch(() => undefined);
      await emulators?.close().catch(() => undefined);
      running = false;
      throw error;
    }
  }

  get dynamodb(): DynamoDBClient {
    return this.clients.dynamodb;
  }

  get s3(): S3Client {
    return this.clients.s3;
  }

  get exportBucket(): string {
    return LOCAL_EXPORT_BUCKET;
  }

  loadSeed(seed: Seed, origin?: string): Promise<{ items: number; objects: number }> {
    return loadSeed(seed, this.dataMap, this.clients, origin);
  }

  startExport(request: StartRequest): Promise<Job> {
    return startExport(request, { jobs: this.jobs, workflow: this.workflow, dataMap: this.dataMap, settings: this.settings });
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

  /** Emails local SES accepted, oldest first. */
  async emails(): Promise<ReceivedEmail[]> {
    const response = await fetch(`${this.endpoints.ses}/store`);
    const store = (await response.json()) as { emails: ReceivedEmail[] };
    return store.emails;
  }

  /** The newest email to `address` about `exportId`, if one arrived. */
  async emailFor(address: string, exportId: string): Promise<ReceivedEmail | undefined> {
    const all = await this.emails();
    return all.filter((e) => e.destination.to.includes(address) && (e.body.text ?? '').includes(exportId)).at(-1);
  }

  /**
   * What the user does: open the newest email about the export, follow its link through the download
   * endpoint, and fetch the presigned URL it redirects to.
   */
  async downloadFromEmail(address: string, exportId: string): Promise<{ email: ReceivedEmail; link: string; location: string; zip: Buffer }> {
    const email = await this.emailFor(address, exportId);
    const link = email && linkInEmail(email);
    if (!email || !link) throw new Error(`No email with a download link for export ${exportId} reached ${address} in local SES.`);
    const redirect = await fetch(link, { redirect: 'manual' });
    const location = redirect.headers.get('location');
    if (redirect.status !== 302 || !location) throw new Error(`The download link answered ${redirect.status} instead of a redirect: ${await redirect.text()}`);
    const download = await fetch(location);
    if (!download.ok) throw new Error(`The presigned archive URL answered ${download.status}.`);
    return { email, link, location, zip: Buffer.from(await download.arrayBuffer()) };
  }

  async stop(): Promise<void> {
    try {
      await this.closeAll();
    } finally {
      running = false;
    }
  }
}

/** The event EventBridge delivers for an execution's status change, as Step Functions documents it. */
function statusChangeEvent(input: WorkflowInput, status: UnhandledEnding) {
  const executionArn = `${LOCAL_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${input.exportId}`;
  const now = new Date();
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change' as const,
    source: 'aws.states',
    account: '000000000000',
    time: now.toISOString(),
    region: LOCAL_REGION,
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn: LOCAL_STATE_MACHINE_ARN,
      name: input.exportId,
      status,
      startDate: now.getTime(),
      stopDate: now.getTime(),
      input: JSON.stringify(input),
    },
  };
}

/** The download link in an email's text body. */
export function linkInEmail(email: ReceivedEmail): string | undefined {
  return /https?:\/\/\S+\/download\?token=[A-Za-z0-9._-]+/.exec(email.body.text ?? '')?.[0];
}
