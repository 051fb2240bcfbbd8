// The jobs table's layout: one row per export, one lock row per user with an active export, and the audit trail.
// Layout (single table, pk + sk):
//   EXPORT#<exportId> / JOB              the job (index byUser: userId + createdAt lists a user's history;
//                                        sparse index openRequests: open + dueBy, rows with an OPEN_STATUSES status)
//   USER#<userId>     / LOCK             exists while the user has an active export (conditional write)
//   USER#<userId>     / AUDIT#<at>#<id>  who did what to that user's exports
//   QUEUE             / <receivedAt>#<exportId>  an export waiting for a slot, in arrival order (admission-store.ts)
//   ADMISSION         / SLOTS            the exports holding a slot: a string set no larger than maxConcurrentExports
//   BUDGET#<key>      / PACE             when a read budget's next read may start (collect/pacing/budget-store.ts)
import { ConditionalCheckFailedException, QueryCommand, type AttributeValue, type DynamoDBClient, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

export const jobKey = (exportId: string) => ({ pk: { S: `EXPORT#${exportId}` }, sk: { S: 'JOB' } });
export const lockKey = (userId: string) => ({ pk: { S: `USER#${userId}` }, sk: { S: 'LOCK' } });
/** The queue's one partition: strongly consistent reads see a waiting export the moment it was written. */
export const QUEUE_PARTITION = { S: 'QUEUE' };
export const queueKey = (receivedAt: string, exportId: string) => ({ pk: QUEUE_PARTITION, sk: { S: `${receivedAt}#${exportId}` } });
export const SLOTS_KEY = { pk: { S: 'ADMISSION' }, sk: { S: 'SLOTS' } };

/** The value of the open-requests index's key on every row in it (one partition: open requests are few). */
export const OPEN = { S: '1' };

/** How long audit rows (who did what, from which IP and browser) are kept unless configured. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 400;
/** One page of the audit trail at most (a route answer stays small whatever a user's history). */
export const MAX_AUDIT_PAGE = 100;

export const marshallOptions = { removeUndefinedValues: true, convertClassInstanceToMap: false } as const;

/** A row's own fields: the item without the table's keys, its TTL attribute (audit rows carry one) and the open-requests key. */
export function rowFields<T>(item: Record<string, AttributeValue>): T {
  const {
    [JOBS_TABLE_SCHEMA.partitionKey]: _pk,
    [JOBS_TABLE_SCHEMA.sortKey]: _sk,
    [JOBS_TABLE_SCHEMA.ttlAttribute]: _ttl,
    [JOBS_TABLE_SCHEMA.openIndex.partitionKey]: _open,
    ...fields
  } = unmarshall(item);
  return fields as T;
}

/** The sort key an audit cursor carries, if it is one (an audit row's key, of bounded length). */
export function decodeCursor(cursor: string): string | undefined {
  if (cursor.length > 400 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const sk = Buffer.from(cursor, 'base64url').toString('utf8');
  return /^AUDIT#\d{4}-\d{2}-\d{2}T[\d:.]+Z#[0-9a-f-]{36}$/.test(sk) ? sk : undefined;
}

/** The jobs table's schema, shared by the CDK construct and the local stack so they cannot drift. */
export const JOBS_TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  byUserIndex: { name: 'byUser', partitionKey: 'userId', sortKey: 'createdAt' },
  /** Sparse: only jobs whose request is still open carry `open`; the sweeper's daily read. */
  openIndex: { name: 'openRequests', partitionKey: 'open', sortKey: 'dueBy' },
  ttlAttribute: 'ttl',
} as const;

/** A conditional write's answer when it was applied; undefined when its condition did not hold. Any other error is thrown. */
export async function ifApplied<T>(write: Promise<T>): Promise<T | undefined> {
  try {
    return await write;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined;
    throw error;
  }
}

/** Every page of a Query, following LastEvaluatedKey until the last. */
export async function* queryPages(dynamodb: DynamoDBClient, input: QueryCommandInput): AsyncGenerator<QueryCommandOutput> {
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    yield page;
    start = page.LastEvaluatedKey;
  } while (start);
}
