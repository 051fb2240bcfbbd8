// Least privilege derived from the data map: read-only access to exactly the tables, indexes and S3
// prefixes it names (and their KMS keys), nothing else. The map is validated here at synth time with
// the same schema the handlers use at run time.
import { Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { awsSettings, type ArnScope, type CollectorFunction, type Grant } from '../lambdas/core/data-map/connector.ts';
import { AWS_DATABASE, type AwsPostgresDatabase } from '../lambdas/core/collect/connectors/postgres/schema.ts';
import { accountSource, assertAnswerable, connectorOf, loadDataMapFile, recipientOf, type DataMap, type Source } from '../lambdas/core/data-map/data-map.ts';
import { acknowledgeWildcardResource } from './nag.ts';

export { prefixPattern } from '../lambdas/core/collect/connectors/s3/schema.ts';

export class DataMapAccess extends Construct {
  readonly dataMap: DataMap;

  constructor(
    scope: Construct,
    id: string,
    readonly dataMapFile: string,
    options: { requireCompleteAnswer: boolean } = { requireCompleteAnswer: true },
  ) {
    super(scope, id);
    this.dataMap = loadDataMapFile(dataMapFile);
    // A deployed export answers access requests: a map that cannot say everything they must be told stops synth.
    if (options.requireCompleteAnswer) assertAnswerable(this.dataMap, `The data map file ${dataMapFile}`);
  }

  /** The grants each source's connector derives, in this stack's partition, region and account. */
  private grantsOf(sources: Source[]): Grant[] {
    const stack = Stack.of(this);
    const scope = { partition: stack.partition, region: stack.region, account: stack.account };
    return sources.flatMap((source) => (connectorOf(source).grants as (s: Source, map: Record<string, unknown>, scope: ArnScope) => Grant[])(source, this.dataMap, scope));
  }

  private statementsFor(sources: Source[]): PolicyStatement[] {
    const grants = this.grantsOf(sources);
    // Keys and tables repeat across sources: one statement per distinct action list and conditions.
    const merged = new Map<string, Grant>();
    for (const grant of grants) {
      const key = JSON.stringify([grant.actions, grant.conditions ?? null]);
      const same = merged.get(key);
      if (same) same.resources = [...new Set([...same.resources, ...grant.resources])];
      else merged.set(key, { ...grant, resources: [...grant.resources] });
    }
    return [...merged.values()].map((g) => new PolicyStatement({ actions: g.actions, resources: g.resources, conditions: g.conditions }));
  }

  /** The sources a collector function reads: those whose connector names it. */
  sourcesReadBy(collector: CollectorFunction): Source[] {
    return this.dataMap.sources.filter((source) => connectorOf(source).collector === collector);
  }

  /**
   * The deploy-time settings of every database a collector's sources read, by the name the map gives
   * it; a database without its aws block fails synthesis, naming the source.
   */
  databasesReadBy(collector: CollectorFunction): Map<string, AwsPostgresDatabase> {
    const databases = new Map<string, AwsPostgresDatabase>();
    for (const source of this.sourcesReadBy(collector)) {
      if (!('database' in source)) continue;
      databases.set(source.database, awsSettings(this.dataMap, 'databases', source.database, source.id, AWS_DATABASE));
    }
    return databases;
  }

  /**
   * A collector function's grants: exactly what its own sources need, so no function can read a store
   * another one reads. Resources that need a wildcard (S3 sources name one prefix per user, a database
   * user on any proxy) are acknowledged to cdk-nag with the connector's reason.
   */
  grantCollect(fn: IFunction, collector: CollectorFunction): void {
    const sources = this.sourcesReadBy(collector);
    for (const statement of this.statementsFor(sources)) fn.addToRolePolicy(statement);
    for (const grant of this.grantsOf(sources)) {
      if (!grant.wildcardReason) continue;
      for (const resource of grant.resources) acknowledgeWildcardResource(fn.role ?? fn, resource, grant.wildcardReason);
    }
  }

  /** Support checks that a customer exists before exporting: only the account source. */
  grantAccountLookup(fn: IFunction): void {
    const account = accountSource(this.dataMap);
    if (account) for (const statement of this.statementsFor([account])) fn.addToRolePolicy(statement);
  }

  /** Finding a user's email address: only the recipient source (or the first account source). */
  grantRecipientLookup(fn: IFunction): void {
    const recipient = recipientOf(this.dataMap);
    if (recipient) for (const statement of this.statementsFor([recipient.source])) fn.addToRolePolicy(statement);
  }
}
