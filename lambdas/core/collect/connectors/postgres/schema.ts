// A PostgreSQL source (RDS or Aurora, reached through RDS Proxy): one user's rows of a table, by its
// user column, or of a query with `:userId`, read in `orderBy` order. The databases its sources name
// are declared once, at the top of the map, with where they are in AWS.
import * as z from 'zod';
import {
  excludeList,
  redactList,
  timeAttribute,
  attributeName,
  awsSettings,
  commonFields,
  connectorSchema,
  declaredProblem,
  identifier,
  awsText,
  projectionProblems,
  perSecond,
  budgetsOf,
  type Problem,
} from '../../../data-map/connector.ts';
import { bindUserId } from './sql.ts';

/** Where a database is in AWS: only synth and deploy need it; the embedded stack starts its own. */
export const AWS_DATABASE = z
  .object({
    /** The RDS Proxy endpoint the exporter connects to, with IAM authentication and TLS. */
    proxyEndpoint: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'must be a host name'),
    port: z.number().int().min(1).max(65535).default(5432),
    /** The database user the exporter connects as; rds-db:connect is granted for it alone. */
    user: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'must be a PostgreSQL user name'),
    /** The proxy's resource id (prx-…), which narrows rds-db:connect to this proxy; without it, any proxy of the account. */
    proxyResourceId: z
      .string()
      .regex(/^prx-[a-z0-9]+$/, 'must be an RDS Proxy resource id (prx-…)')
      .optional(),
    vpcId: z.string().regex(/^vpc-[0-9a-f]+$/, 'must be a VPC id (vpc-…)'),
    subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, 'must be a subnet id (subnet-…)')).min(1),
    /** The proxy's security group: the reader's own group is allowed into it on `port`. */
    securityGroupId: z.string().regex(/^sg-[0-9a-f]+$/, 'must be a security group id (sg-…)'),
  })
  .strict();

const database = z
  .object({
    engine: z.literal('postgres'),
    /** Rows per second all sources of this database may read, across every export at once. */
    maxRowsPerSecond: perSecond.optional(),
    /** The database's name on the server. */
    database: z.string().min(1).max(63),
    aws: z
      .object({
        proxyEndpoint: awsText,
        port: z.number().int().min(1).max(65535).default(5432),
        user: awsText,
        proxyResourceId: awsText.optional(),
        vpcId: awsText,
        subnetIds: z.array(awsText).min(1),
        securityGroupId: awsText,
      })
      .strict()
      .optional(),
  })
  .strict();

export type PostgresDatabase = z.infer<typeof database>;
export type AwsPostgresDatabase = z.infer<typeof AWS_DATABASE>;

const columnName = z.string().min(1, 'must not be empty').max(63, 'must be at most 63 characters (PostgreSQL cuts longer names)');

const source = z
  .object({
    ...commonFields,
    type: z.literal('postgres'),
    database: identifier,
    /** A table (`orders` or `sales.orders`) and the column holding the user id… */
    table: z.string().min(1).max(127).optional(),
    userColumn: columnName.optional(),
    /** …or a query that returns the user's rows, with `:userId` where the user id goes (always a bind parameter). */
    query: z.string().min(1).optional(),
    /** Columns that together are unique and never NULL: the order rows are read in, a page at a time. */
    orderBy: z.array(columnName).min(1, 'must name at least one column'),
    exclude: excludeList.optional(),
    redact: redactList.optional(),
    /** The attribute a date range (since, until) applies to. */
    timeAttribute: timeAttribute.optional(),
    include: z.array(attributeName).min(1).optional(),
    /** Rows per second this source may read, across every export at once. */
    maxRowsPerSecond: perSecond.optional(),
  })
  .strict();

export type PostgresSource = z.infer<typeof source>;

/** Why a query cannot be run as a user's rows, or undefined when it can. */
function queryProblem(query: string): string | undefined {
  try {
    bindUserId('', query);
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^Source "": its query /, 'it ').replace(/^it must/, 'must');
  }
}

export const postgresConnector = connectorSchema({
  type: 'postgres',
  source,
  mapFields: { databases: z.record(identifier, database) },
  problems(raw, map): Problem[] {
    const problems = [...declaredProblem(raw, map, 'database', 'databases'), ...projectionProblems(raw, [])];
    const hasTable = raw.table !== undefined || raw.userColumn !== undefined;
    if (hasTable && raw.query !== undefined) {
      problems.push({ path: ['query'], message: 'cannot be combined with "table" and "userColumn"; give one or the other' });
    } else if (!hasTable && raw.query === undefined) {
      problems.push({ path: [], message: 'needs "table" and "userColumn", or a "query" containing :userId' });
    } else if (hasTable && (raw.table === undefined || raw.userColumn === undefined)) {
      problems.push({ path: [raw.table === undefined ? 'table' : 'userColumn'], message: `is needed with "${raw.table === undefined ? 'userColumn' : 'table'}"` });
    }
    if (typeof raw.query === 'string') {
      const problem = queryProblem(raw.query);
      if (problem) problems.push({ path: ['query'], message: problem });
    }
    if (Array.isArray(raw.orderBy) && new Set(raw.orderBy).size !== raw.orderBy.length) problems.push({ path: ['orderBy'], message: 'names a column twice' });
    return problems;
  },
  output: 'records',
  keyColumns: (s) => s.orderBy,
  columnOrder: 'as-read',
  collector: 'CollectDatabaseSource',
  grants(s, map, { partition, region, account }) {
    const aws = awsSettings(map, 'databases', s.database, s.id, AWS_DATABASE);
    return [
      {
        actions: ['rds-db:connect'],
        resources: [`arn:${partition}:rds-db:${region}:${account}:dbuser:${aws.proxyResourceId ?? '*'}/${aws.user}`],
        ...(aws.proxyResourceId
          ? {}
          : { wildcardReason: `Database "${s.database}" names no proxyResourceId; rds-db:connect is still limited to the database user "${aws.user}".` }),
      },
    ];
  },
  readBudgets: (s, map) =>
    budgetsOf([
      [`source:${s.id}`, s.maxRowsPerSecond],
      [`postgres:${s.database}`, (map.databases as Record<string, PostgresDatabase> | undefined)?.[s.database]?.maxRowsPerSecond],
    ]),
  budgetUnit: 'rows',
});
