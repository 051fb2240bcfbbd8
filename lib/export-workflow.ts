// The workflow: its step functions (CollectDatabaseSource only for a data map with database sources) and the state machine that runs them, loaded from
// state-machines/export.asl.json (the same file the local runner executes) with each Task's Lambda ARN
// substituted. Executions that time out or are stopped are closed by ExecutionEnded via EventBridge.
import { connectorOf } from '../lambdas/core/data-map/data-map.ts';
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { DataMapAccess } from './data-map-access.ts';
import { DatabaseNetwork } from './database-network.ts';
import type { ExportStorage } from './export-storage.ts';
import { HouseFunction } from './house-function.ts';
import type { JobsTable } from './jobs-table.ts';
import type { LinkSigning } from './link-signing.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import type { SenderIdentity } from './sender-identity.ts';
import type { CollectorFunction } from '../lambdas/core/data-map/connector.ts';
import { EXECUTION_ENDINGS } from '../lambdas/core/lifecycle/export-failure.ts';
import { DEFAULT_BUNDLE_BUDGET_SECONDS } from '../lambdas/core/platform/config.ts';
import { EXPORT_DEFINITION_FILE } from '../state-machines/definition.ts';

export interface ExportWorkflowProps {
  storage: ExportStorage;
  jobs: JobsTable;
  linkSigning: LinkSigning;
  dataMap: DataMapAccess;
  sender: SenderIdentity;
  publicBaseUrl: string;
  linkLifetimeHours: number;
  retentionDays: number;
  /** Split archives into parts of at most this many bytes; unset, one ZIP of any size. */
  maxArchiveBytes?: number;
  /** Executions that may run at once; further exports wait as QUEUED (lambdas/core/lifecycle/admission.ts). */
  maxConcurrentExports: number;
}

export class ExportWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly functions: HouseFunction[];
  private readonly maxConcurrentExports: number;

  constructor(scope: Construct, id: string, props: ExportWorkflowProps) {
    super(scope, id);
    const { storage, jobs, linkSigning, dataMap, sender } = props;
    this.maxConcurrentExports = props.maxConcurrentExports;
    const dataMapFile = dataMap.dataMapFile;

    const prepare = new HouseFunction(this, 'PrepareExport', { handler: 'prepare-export', description: 'Marks an export RUNNING and lists its sources', dataMapFile });
    jobs.grant(prepare, { items: ['GetItem', 'UpdateItem'] });
    dataMap.grantRecipientLookup(prepare);

    // One function per collector a connector names: CollectSource outside any VPC, and (when the map
    // has a database source) CollectDatabaseSource inside the databases' VPC. Each reads only its own
    // sources' stores; both write staging and record progress on the job.
    const collectorProps = (handler: string, description: string) => ({
      handler,
      description,
      dataMapFile,
      timeout: Duration.minutes(15),
      memorySize: 1024,
      environment: { COLLECT_BUDGET_SECONDS: '600' },
    });
    const collect = new HouseFunction(this, 'CollectSource', collectorProps('collect-source', 'Reads one source of one user into staging parts, for a time budget'));
    const databases = dataMap.databasesReadBy('CollectDatabaseSource');
    const collectDatabase =
      dataMap.sourcesReadBy('CollectDatabaseSource').length === 0
        ? undefined
        : new HouseFunction(this, 'CollectDatabaseSource', {
            ...collectorProps('collect-database-source', 'Reads one database source of one user into staging parts, from inside the databases VPC'),
            network: new DatabaseNetwork(this, 'DatabaseNetwork', databases),
          });
    const collectors: [CollectorFunction, HouseFunction | undefined][] = [
      ['CollectSource', collect],
      ['CollectDatabaseSource', collectDatabase],
    ];
    for (const [collector, fn] of collectors) {
      if (!fn) continue;
      jobs.grant(fn, { items: ['GetItem', 'UpdateItem'] });
      storage.grantStagingWrite(fn, { readBack: dataMap.sourcesReadBy(collector).some((source) => connectorOf(source).readsStaging === true) });
      dataMap.grantCollect(fn, collector);
    }

    const bundle = new HouseFunction(this, 'BundleArchive', {
      handler: 'bundle-archive',
      description: 'Streams staging parts into the encrypted ZIP archive, a part per time budget',
      dataMapFile,
      timeout: Duration.minutes(15),
      // 3,538 MB is where Lambda gives two vCPUs: the archive's blocks are deflated on both at once.
      memorySize: 3538,
      environment: {
        BUNDLE_BUDGET_SECONDS: String(DEFAULT_BUNDLE_BUDGET_SECONDS),
        ...(props.maxArchiveBytes === undefined ? {} : { MAX_ARCHIVE_BYTES: String(props.maxArchiveBytes) }),
      },
    });
    storage.grantBundle(bundle);

    const sendLink = new HouseFunction(this, 'SendLink', {
      handler: 'send-link',
      description: 'Marks an export READY and emails its signed download link',
      dataMapFile,
      environment: { PUBLIC_BASE_URL: props.publicBaseUrl, LINK_TTL_HOURS: String(props.linkLifetimeHours) },
    });
    jobs.grant(sendLink, { items: ['GetItem', 'UpdateItem', 'DeleteItem', 'PutItem'] });
    linkSigning.grantSign(sendLink);
    sender.grantSend(sendLink);

    const markFailed = new HouseFunction(this, 'MarkFailed', { handler: 'mark-failed', description: 'Closes a failed export and tells the user' });
    jobs.grant(markFailed, { items: ['GetItem', 'UpdateItem', 'DeleteItem', 'PutItem'] });
    storage.grantCleanup(markFailed);
    sender.grantSend(markFailed);

    const ended = new HouseFunction(this, 'ExecutionEnded', {
      handler: 'execution-ended',
      description: "Frees an ended execution's admission slot and starts waiting exports; closes exports whose execution timed out or was stopped",
    });
    jobs.grant(ended, { items: ['GetItem', 'UpdateItem', 'DeleteItem', 'PutItem'], queryQueue: true });
    storage.grantCleanup(ended);
    sender.grantSend(ended);

    // Without database sources the Map never routes to CollectDatabaseSource; its placeholder names CollectSource, which would refuse such a source.
    const tasks = {
      PrepareExport: prepare,
      CollectSource: collect,
      CollectDatabaseSource: collectDatabase ?? collect,
      BundleArchive: bundle,
      SendLink: sendLink,
      MarkFailed: markFailed,
    };
    const taskFunctions = [...new Set(Object.values(tasks))];
    // No fixed name: the group is retained (it holds execution data), so a fixed name would collide when
    // the stack is deployed again after a delete.
    const logs = new LogGroup(this, 'ExecutionLogs', { retention: RetentionDays.THREE_MONTHS });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromFile(EXPORT_DEFINITION_FILE),
      definitionSubstitutions: Object.fromEntries(Object.entries(tasks).map(([name, fn]) => [`${name}FunctionArn`, fn.functionArn])),
      tracingEnabled: true,
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: true },
    });
    // The functions' unqualified ARNs only (grantInvoke would add every version, "<arn>:*").
    this.stateMachine.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: taskFunctions.map((fn) => fn.functionArn) }));
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: 'Step Functions log delivery (logs:CreateLogDelivery and related) and X-Ray tracing support no resource-level permissions.',
    });

    this.grantAdmit(ended);
    // Every ending: it frees the execution's admission slot (and closes what the Catch did not see).
    new Rule(this, 'ExecutionEndedRule', {
      description: 'Export executions that ended, any way: free their admission slot, start waiting exports, close jobs the Catch did not',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [this.stateMachine.stateMachineArn], status: [...EXECUTION_ENDINGS] },
      },
      targets: [new LambdaFunction(ended, { retryAttempts: 8, maxEventAge: Duration.hours(6) })],
    });

    this.functions = [...taskFunctions, ended];
  }

  /** arn:…:execution:<state machine name>:* */
  private executionArnPattern(): string {
    return Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /**
   * A function that admits waiting exports (the APIs, ExecutionEnded, the sweep): it knows the cap and
   * starts executions named after the export id.
   */
  grantAdmit(fn: HouseFunction): void {
    fn.addEnvironment('STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);
    fn.addEnvironment('MAX_CONCURRENT_EXPORTS', String(this.maxConcurrentExports));
    this.stateMachine.grantStartExecution(fn);
  }

  /** The API: admits exports, and stops their executions on cancel. */
  grantStartAndStop(fn: HouseFunction): void {
    this.grantAdmit(fn);
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['states:StopExecution'],
        resources: [this.executionArnPattern()],
      }),
    );
    acknowledgeWildcardResource(
      fn.role ?? fn,
      this.executionArnPattern(),
      'Executions are named after export ids, which do not exist before the export; stopping one needs the execution ARN pattern of this state machine.',
    );
  }
}
