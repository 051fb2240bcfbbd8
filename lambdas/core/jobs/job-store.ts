// The jobs table's store: jobs, each user's lock and the audit trail (the layout is in jobs-table-layout.ts).
import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';
import { InvalidRequestError } from '../platform/errors.ts';
import { ACTIVE_STATUSES, OPEN_STATUSES, type AuditEvent, type AuditPage, type Job, type JobStatus, type SourceProgress } from './job-model.ts';
import type { Clock } from '../platform/clock.ts';
import { AdmissionStore } from './admission-store.ts';
import { BudgetStore } from './budget-store.ts';
import { UserLock } from './user-lock.ts';
import { decodeCursor, DEFAULT_AUDIT_RETENTION_DAYS, jobKey, JOBS_TABLE_SCHEMA, queryPages, marshallOptions, MAX_AUDIT_PAGE, OPEN, rowFields } from './jobs-table-layout.ts';

export * from './job-model.ts';
export type { QueueEntry } from './admission-store.ts';
export { DEFAULT_AUDIT_RETENTION_DAYS, JOBS_TABLE_SCHEMA, MAX_AUDIT_PAGE } from './jobs-table-layout.ts';
export { applyRetention, archiveGoneAt } from './retention.ts';

/** The variables a handler picks (with its own, in one parse) to build its job store with jobStoreFrom. */
export const JOB_STORE_ENV = ['JOBS_TABLE', 'AUDIT_RETENTION_DAYS'] as const;

/** The job store a handler's parsed configuration names (the table, how long its audit rows are kept), on the handler's clock. */
export function jobStoreFrom(dynamodb: DynamoDBClient, config: { JOBS_TABLE: string; AUDIT_RETENTION_DAYS: number }, now: Clock): JobStore {
  return new JobStore(dynamodb, config.JOBS_TABLE, { auditRetentionDays: config.AUDIT_RETENTION_DAYS, now });
}

export class JobStore {
  private readonly now: Clock;
  private readonly auditRetentionDays: number;
  /** The queue of exports waiting for a slot and the slots held, in the same table. */
  readonly admission: AdmissionStore;
  /** The read budgets' shared rows, in the same table. */
  readonly budgets: BudgetStore;
  private readonly lock: UserLock;

  constructor(
    private readonly dynamodb: DynamoDBClient,
    readonly tableName: string,
    options: { now: Clock; auditRetentionDays?: number },
  ) {
    this.now = options.now;
    this.auditRetentionDays = options.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS;
    this.admission = new AdmissionStore(dynamodb, tableName);
    this.budgets = new BudgetStore(dynamodb, tableName);
    this.lock = new UserLock(dynamodb, tableName);
  }

  /**
   * Creates a QUEUED job and takes the user's lock. Two concurrent calls for one user: exactly one wins,
   * the other gets ExportInProgressError naming the active export. A lock left behind by an export that
   * already ended (a crash between steps) is taken over rather than blocking the user forever.
   */
  async create(job: Omit<Job, 'createdAt' | 'updatedAt' | 'status' | 'sources'>): Promise<Job> {
    // The row is created when the request is received: one instant for both, so they never disagree.
    const at = job.receivedAt;
    const full: Job = { ...job, status: 'QUEUED', createdAt: at, updatedAt: at, sources: {} };
    await this.lock.acquire(job.userId, job.exportId, at, async (holder) => {
      const active = await this.get(holder);
      return active !== undefined && ACTIVE_STATUSES.includes(active.status);
    });
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...marshall(full, marshallOptions), ...jobKey(job.exportId), [JOBS_TABLE_SCHEMA.openIndex.partitionKey]: OPEN },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      await this.releaseLock(job.userId, job.exportId);
      throw error;
    }
    return full;
  }

  /** Frees the user's lock if (and only if) this export holds it. */
  releaseLock(userId: string, exportId: string): Promise<void> {
    return this.lock.release(userId, exportId);
  }

  /** The export currently holding the user's lock, if any. */
  activeExportId(userId: string): Promise<string | undefined> {
    return this.lock.holder(userId);
  }

  async get(exportId: string): Promise<Job | undefined> {
    const result = await this.dynamodb.send(new GetItemCommand({ TableName: this.tableName, Key: jobKey(exportId), ConsistentRead: true }));
    return result.Item && rowFields<Job>(result.Item);
  }

  /**
   * Sets fields of a job; `onlyIf` guards the transition (e.g. never resurrect a cancelled export), and
   * its `unset` field must not be set yet (e.g. an export is admitted once).
   */
  async update(exportId: string, fields: Partial<Omit<Job, 'exportId' | 'userId'>>, onlyIf?: { statusIn: readonly JobStatus[]; unset?: keyof Job }): Promise<void> {
    const entries = Object.entries({ ...fields, updatedAt: this.now().toISOString() }).filter(([, v]) => v !== undefined);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = entries.map(([name, value], i) => {
      names[`#f${i}`] = name;
      values[`:v${i}`] = value;
      return `#f${i} = :v${i}`;
    });
    // The row is in the open-requests index exactly while its status is one the sweeper looks at.
    let remove = '';
    if (fields.status !== undefined) {
      names['#open'] = JOBS_TABLE_SCHEMA.openIndex.partitionKey;
      if (OPEN_STATUSES.includes(fields.status)) {
        values[':open'] = OPEN.S;
        sets.push('#open = :open');
      } else remove = ' REMOVE #open';
    }
    let condition = 'attribute_exists(pk)';
    if (onlyIf) {
      names['#status'] = 'status';
      onlyIf.statusIn.forEach((s, i) => (values[`:s${i}`] = s));
      condition += ` AND #status IN (${onlyIf.statusIn.map((_, i) => `:s${i}`).join(', ')})`;
      if (onlyIf.unset !== undefined) {
        names['#unset'] = onlyIf.unset;
        condition += ' AND attribute_not_exists(#unset)';
      }
    }
    await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: jobKey(exportId),
        UpdateExpression: `SET ${sets.join(', ')}${remove}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: marshall(values, marshallOptions),
      }),
    );
  }

  /**
   * Takes a FAILED export out of the open-requests index when a later export of its user answers the
   * request instead; its status stays FAILED (what happened to it), only the sweeper stops counting it.
   */
  async settle(exportId: string): Promise<void> {
    await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: jobKey(exportId),
        UpdateExpression: 'REMOVE #open',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#open': JOBS_TABLE_SCHEMA.openIndex.partitionKey },
      }),
    );
  }

  /**
   * Every open request (the sparse open-requests index), a page at a time, soonest due first: what the
   * sweeper reads instead of scanning a table that also holds locks and the whole audit trail.
   */
  async *openRequests(pageSize = 100): AsyncGenerator<Job[]> {
    const pages = queryPages(this.dynamodb, {
      TableName: this.tableName,
      IndexName: JOBS_TABLE_SCHEMA.openIndex.name,
      KeyConditionExpression: '#open = :open',
      ExpressionAttributeNames: { '#open': JOBS_TABLE_SCHEMA.openIndex.partitionKey },
      ExpressionAttributeValues: { ':open': OPEN },
      Limit: pageSize,
    });
    for await (const page of pages) yield (page.Items ?? []).map((item) => rowFields<Job>(item));
  }

  async recordSourceProgress(exportId: string, sourceId: string, progress: SourceProgress): Promise<void> {
    await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: jobKey(exportId),
        UpdateExpression: 'SET #sources.#id = :p, updatedAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#sources': 'sources', '#id': sourceId },
        ExpressionAttributeValues: marshall({ ':p': progress, ':at': this.now().toISOString() }),
      }),
    );
  }

  async recordDownload(exportId: string, at: string): Promise<void> {
    await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: jobKey(exportId),
        UpdateExpression: 'SET downloadCount = if_not_exists(downloadCount, :zero) + :one, lastDownloadedAt = :at',
        ExpressionAttributeValues: { ':zero': { N: '0' }, ':one': { N: '1' }, ':at': { S: at } },
      }),
    );
  }

  /** A user's exports, newest first. */
  async listByUser(userId: string, limit = 50): Promise<Job[]> {
    const result = await this.dynamodb.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: JOBS_TABLE_SCHEMA.byUserIndex.name,
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': { S: userId } },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => rowFields<Job>(item));
  }

  async audit(event: Omit<AuditEvent, 'at'> & { at?: string }): Promise<void> {
    const at = event.at ?? this.now().toISOString();
    await this.dynamodb.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...marshall({ ...event, at }, marshallOptions),
          pk: { S: `USER#${event.userId}` },
          sk: { S: `AUDIT#${at}#${randomUUID()}` },
          // IPs and browsers are not kept forever: the table's TTL removes the row after the retention.
          [JOBS_TABLE_SCHEMA.ttlAttribute]: { N: String(Math.floor(Date.parse(at) / 1000) + this.auditRetentionDays * 86_400) },
        },
      }),
    );
  }

  /** A user's whole audit trail, oldest first (every page). */
  async auditTrail(userId: string): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.auditPage(userId, { limit: MAX_AUDIT_PAGE, cursor });
      events.push(...page.events);
      cursor = page.nextCursor;
    } while (cursor);
    return events;
  }

  /**
   * One page of a user's audit trail, oldest first. The cursor names the last row of the previous page
   * within this user's trail only; one that does not is refused (InvalidRequestError), never followed.
   */
  async auditPage(userId: string, options: { limit: number; cursor?: string }): Promise<AuditPage> {
    const pk = `USER#${userId}`;
    let start: Record<string, AttributeValue> | undefined;
    if (options.cursor !== undefined) {
      const sk = decodeCursor(options.cursor);
      if (!sk) throw new InvalidRequestError('The cursor is not valid; pass the nextCursor of the previous page of this user’s audit trail.');
      start = { pk: { S: pk }, sk: { S: sk } };
    }
    const page = await this.dynamodb.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :audit)',
        ExpressionAttributeValues: { ':pk': { S: pk }, ':audit': { S: 'AUDIT#' } },
        ExclusiveStartKey: start,
        Limit: Math.min(Math.max(1, Math.floor(options.limit)), MAX_AUDIT_PAGE),
      }),
    );
    const events = (page.Items ?? []).map((item) => rowFields<AuditEvent>(item));
    const last = page.LastEvaluatedKey?.sk?.S;
    return { events, ...(last ? { nextCursor: Buffer.from(last, 'utf8').toString('base64url') } : {}) };
  }
}
