// A DynamoDB source: one user's items of a table (or index), found by a partition key rendered from
// the user id, optionally narrowed to a sort-key prefix.
import * as z from 'zod';
import {
  excludeList,
  redactList,
  timeAttribute,
  attributeName,
  commonFields,
  connectorSchema,
  keyTemplate,
  kmsKeyArn,
  perSecond,
  budgetsOf,
  projectionProblems,
  type Problem,
} from '../../../data-map/connector.ts';

const tableName = z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)');

const source = z
  .object({
    ...commonFields,
    type: z.literal('dynamodb'),
    table: tableName,
    index: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB index name')
      .optional(),
    partitionKey: attributeName,
    keyTemplate,
    sortKey: attributeName.optional(),
    sortKeyPrefix: z.string().min(1).optional(),
    /** Attributes never exported. */
    exclude: excludeList.optional(),
    redact: redactList.optional(),
    /** The attribute a date range (since, until) applies to. */
    timeAttribute: timeAttribute.optional(),
    /** When set, only these attributes are exported (an allow-list, for sensitive sources such as payment). */
    include: z.array(attributeName).min(1).optional(),
    kmsKeyArn: kmsKeyArn.optional(),
    /** Read units per second this source may consume, across every export at once (ReturnConsumedCapacity counts them). */
    maxReadUnitsPerSecond: perSecond.optional(),
  })
  .strict();

/** A table several sources read: a read budget they share (`tables.<TableName>` at the top of the map). */
const table = z.object({ maxReadUnitsPerSecond: perSecond.optional() }).strict();
export type DynamoDbTable = z.infer<typeof table>;

export type DynamoDbSource = z.infer<typeof source>;

export const dynamoDbConnector = connectorSchema({
  type: 'dynamodb',
  source,
  mapFields: { tables: z.record(tableName, table) },
  problems(raw): Problem[] {
    const problems = projectionProblems(raw, [raw.partitionKey, raw.sortKey]);
    if (raw.sortKeyPrefix !== undefined && raw.sortKey === undefined) {
      problems.push({ path: ['sortKeyPrefix'], message: 'needs "sortKey" to name the attribute the prefix applies to' });
    }
    return problems;
  },
  output: 'records',
  keyColumns: (s) => [s.partitionKey, ...(s.sortKey ? [s.sortKey] : [])],
  columnOrder: 'sorted',
  collector: 'CollectSource',
  grants(s, _map, { partition, region, account }) {
    const table = `arn:${partition}:dynamodb:${region}:${account}:table/${s.table}`;
    return [
      { actions: ['dynamodb:Query'], resources: [s.index ? `${table}/index/${s.index}` : table] },
      ...(s.kmsKeyArn ? [{ actions: ['kms:Decrypt'], resources: [s.kmsKeyArn] }] : []),
    ];
  },
  readBudgets: (s, map) =>
    budgetsOf([
      [`source:${s.id}`, s.maxReadUnitsPerSecond],
      [`dynamodb:${s.table}`, (map.tables as Record<string, DynamoDbTable> | undefined)?.[s.table]?.maxReadUnitsPerSecond],
    ]),
  budgetUnit: 'read units',
});
