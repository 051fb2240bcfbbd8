// The export jobs table: on-demand, encrypted with the data key, point-in-time recovery, TTL, the
// by-user index behind a user's history and the sparse index of open requests the sweeper reads. Its
// key layout is shared with the code (JOBS_TABLE_SCHEMA).
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { JOBS_TABLE_SCHEMA } from '../lambdas/core/jobs/job-store.ts';
import type { EnvFunction } from './env-function.ts';

export class JobsTable extends Construct {
  readonly table: Table;

  private readonly key: IKey;

  private readonly auditRetentionDays: number;

  constructor(scope: Construct, id: string, props: { key: IKey; auditRetentionDays: number }) {
    super(scope, id);
    this.key = props.key;
    this.auditRetentionDays = props.auditRetentionDays;
    // Table rather than TableV2: TableV2 cannot render a customer-managed key in a region-agnostic stack,
    // and `npm run synth` must work offline, with no account or region.
    this.table = new Table(this, 'Table', {
      partitionKey: { name: JOBS_TABLE_SCHEMA.partitionKey, type: AttributeType.STRING },
      sortKey: { name: JOBS_TABLE_SCHEMA.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: JOBS_TABLE_SCHEMA.ttlAttribute,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: JOBS_TABLE_SCHEMA.byUserIndex.name,
      partitionKey: { name: JOBS_TABLE_SCHEMA.byUserIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: JOBS_TABLE_SCHEMA.byUserIndex.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    // Sparse: a job is in it only while its request is open (JobStore keeps `open` in step with the
    // status), so the daily sweep reads a handful of rows, never the audit trail a Scan would.
    this.table.addGlobalSecondaryIndex({
      indexName: JOBS_TABLE_SCHEMA.openIndex.name,
      partitionKey: { name: JOBS_TABLE_SCHEMA.openIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: JOBS_TABLE_SCHEMA.openIndex.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
  }

  /**
   * Exactly the jobs-table access one function's code uses: item actions on the table, and Query on the
   * table (a user's audit trail) or on the by-user index (a user's history) only where asked. The table
   * is encrypted with the data key, and DynamoDB decrypts its table key as the caller: kms:Decrypt.
   */
  grant(fn: EnvFunction, access: JobsAccess): void {
    fn.addEnvironment('JOBS_TABLE', this.table.tableName);
    // Audit rows carry their expiry; whoever may write one (PutItem) learns how long they are kept.
    if (access.items.includes('PutItem')) fn.addEnvironment('AUDIT_RETENTION_DAYS', String(this.auditRetentionDays));
    if (access.items.length > 0) {
      fn.addToRolePolicy(new PolicyStatement({ actions: access.items.map((action) => `dynamodb:${action}`), resources: [this.table.tableArn] }));
    }
    const index = (name: string) => `${this.table.tableArn}/index/${name}`;
    const queried = [
      ...(access.queryAudit || access.queryQueue ? [this.table.tableArn] : []),
      ...(access.queryHistory ? [index(JOBS_TABLE_SCHEMA.byUserIndex.name)] : []),
      ...(access.queryOpen ? [index(JOBS_TABLE_SCHEMA.openIndex.name)] : []),
    ];
    if (queried.length > 0) fn.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: queried }));
    this.key.grant(fn, 'kms:Decrypt');
  }
}

/** What a function does with the jobs table (see JobStore: each method's DynamoDB calls). */
export interface JobsAccess {
  items: ('GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem')[];
  /** JobStore.auditTrail: Query on the table itself. */
  queryAudit?: boolean;
  /** JobStore.listByUser: Query on the by-user index. */
  queryHistory?: boolean;
  /** JobStore.openRequests: Query on the open-requests index. */
  queryOpen?: boolean;
  /** AdmissionStore.waiting and .ahead: Query on the table (the queue's partition). */
  queryQueue?: boolean;
}
