// The stack: one construct per concern, wired together. Everything it needs comes from AppConfig.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { resolve } from 'node:path';
import type { AppConfig } from './app-config.ts';
import { DataMapAccess } from './data-map-access.ts';
import { ExportApi } from './export-api.ts';
import { ExportStorage } from './export-storage.ts';
import { ExportSweeper } from './export-sweeper.ts';
import { ExportWorkflow } from './export-workflow.ts';
import { JobsTable } from './jobs-table.ts';
import { LinkSigning } from './link-signing.ts';
import { Operations } from './operations.ts';
import { SenderIdentity } from './sender-identity.ts';

export interface UserDataExportStackProps extends StackProps {
  config: AppConfig;
  /**
   * Whether synth refuses a data map that does not give every legal fact of the answer (default: yes).
   * Only the embedded stack's own synthesis says no: it applies the demo's rule itself (embedded-stack.ts).
   */
  requireCompleteAnswer?: boolean;
}

export class UserDataExportStack extends Stack {
  readonly storage: ExportStorage;
  readonly jobs: JobsTable;
  readonly api: ExportApi;
  readonly workflow: ExportWorkflow;
  readonly sweeper: ExportSweeper;
  readonly operations: Operations;
  readonly linkSigning: LinkSigning;

  constructor(scope: Construct, id: string, props: UserDataExportStackProps) {
    super(scope, id, { description: "user-data-export: data-portability exports of one user's personal data", ...props });
    const { config } = props;
    const dataMap = new DataMapAccess(this, 'DataMap', resolve(config.dataMapFile), { requireCompleteAnswer: props.requireCompleteAnswer ?? true });
    this.storage = new ExportStorage(this, 'Storage', { retentionDays: config.retentionDays });
    this.jobs = new JobsTable(this, 'Jobs', { key: this.storage.dataKey, auditRetentionDays: config.auditRetentionDays });
    const linkSigning = new LinkSigning(this, 'LinkSigning');
    this.linkSigning = linkSigning;
    const sender = new SenderIdentity(this, 'Sender', config.senderEmail);

    this.api = new ExportApi(this, 'Api', { config, storage: this.storage, jobs: this.jobs, linkSigning, dataMap, sender });
    this.workflow = new ExportWorkflow(this, 'Workflow', {
      storage: this.storage,
      jobs: this.jobs,
      linkSigning,
      dataMap,
      sender,
      publicBaseUrl: this.api.url,
      linkLifetimeHours: config.linkLifetimeHours,
      retentionDays: config.retentionDays,
      maxArchiveBytes: config.maxArchiveBytes,
      maxConcurrentExports: config.maxConcurrentExports,
    });
    this.workflow.grantStartAndStop(this.api.userApi);
    this.workflow.grantStartAndStop(this.api.supportApi);

    this.sweeper = new ExportSweeper(this, 'Sweeper', {
      jobs: this.jobs,
      storage: this.storage,
      sender,
      retentionDays: config.retentionDays,
      dueAlarmHours: config.dueAlarmHours,
    });
    this.workflow.grantAdmit(this.sweeper.function);

    this.operations = new Operations(this, 'Operations', {
      alarmEmail: config.alarmEmail,
      stateMachine: this.workflow.stateMachine,
      functions: [...this.workflow.functions, this.api.userApi, this.api.supportApi, this.api.download, this.sweeper.function],
      sweeper: this.sweeper.function,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the HTTP API (account page, support, download links)' });
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ExportBucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'JobsTableName', { value: this.jobs.table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.operations.topic.topicArn });
  }
}
