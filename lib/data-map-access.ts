// Least privilege derived from the data map: read-only access to exactly the tables, indexes and S3
// prefixes it names (and their KMS keys), nothing else. The map is validated here at synth time with
// the same schema the handlers use at run time.
import { Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { accountSource, loadDataMapFile, recipientOf, type DataMap, type DynamoDbSource, type S3Source, type Source } from '../lambdas/core/data-map/data-map.ts';
import { acknowledgeWildcardResource } from './nag.ts';

/** A prefix template as an IAM pattern: users/{userId}/attachments/ → users/*\/attachments/ */
export const prefixPattern = (template: string) => template.replaceAll('{userId}', '*');

export class DataMapAccess extends Construct {
  readonly dataMap: DataMap;

  constructor(
    scope: Construct,
    id: string,
    readonly dataMapFile: string,
  ) {
    super(scope, id);
    this.dataMap = loadDataMapFile(dataMapFile);
  }

  private tableArn(table: string): string {
    return Stack.of(this).formatArn({ service: 'dynamodb', resource: 'table', resourceName: table });
  }

  private objectPattern(source: S3Source): string {
    return `arn:${Stack.of(this).partition}:s3:::${source.bucket}/${prefixPattern(source.prefix)}*`;
  }

  private statementsFor(sources: Source[]): PolicyStatement[] {
    const statements: PolicyStatement[] = [];
    const dynamo = sources.filter((s): s is DynamoDbSource => s.type === 'dynamodb');
    const queryResources = [...new Set(dynamo.map((s) => (s.index ? `${this.tableArn(s.table)}/index/${s.index}` : this.tableArn(s.table))))];
    if (queryResources.length > 0) statements.push(new PolicyStatement({ actions: ['dynamodb:Query'], resources: queryResources }));
    for (const source of sources) {
      if (source.type !== 's3') continue;
      const pattern = prefixPattern(source.prefix);
      statements.push(
        new PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [`arn:${Stack.of(this).partition}:s3:::${source.bucket}`],
          conditions: { StringLike: { 's3:prefix': [`${pattern}*`] } },
        }),
        new PolicyStatement({ actions: ['s3:GetObject'], resources: [this.objectPattern(source)] }),
      );
    }
    const keys = [...new Set(sources.flatMap((s) => (s.kmsKeyArn ? [s.kmsKeyArn] : [])))];
    if (keys.length > 0) statements.push(new PolicyStatement({ actions: ['kms:Decrypt'], resources: keys }));
    return statements;
  }

  /** S3 sources name one prefix per user; IAM can only say that with a wildcard for the user id. */
  acknowledgeUserPrefixes(fn: IFunction): void {
    for (const source of this.dataMap.sources) {
      if (source.type !== 's3') continue;
      acknowledgeWildcardResource(
        fn.role ?? fn,
        this.objectPattern(source),
        `Source "${source.id}" keeps each user's files under ${source.prefix}; the collector reads one user's prefix per export.`,
      );
    }
  }

  /** CollectSource: every source of the map. */
  grantCollect(fn: IFunction): void {
    for (const statement of this.statementsFor(this.dataMap.sources)) fn.addToRolePolicy(statement);
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
