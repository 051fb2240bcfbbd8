// The jobs table's admission rows: the queue of exports waiting for a slot, in arrival order, and the
// semaphore of slots held by running executions. Both are single conditional writes on the base table,
// read with strong consistency: a waiting export is visible to every admitter the moment it is written,
// and two admitters can never take more slots than the cap between them.
import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ifApplied, QUEUE_PARTITION, queryPages, queueKey, SLOTS_KEY } from './jobs-table-layout.ts';
import type { Job } from './job-model.ts';

/** An export waiting for a slot. */
export interface QueueEntry {
  exportId: string;
  userId: string;
  receivedAt: string;
}

type Queued = Pick<Job, 'exportId' | 'userId' | 'receivedAt'>;

export class AdmissionStore {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** Puts the export at the end of the queue (its place is its receivedAt, then its id). */
  async enqueue(job: Queued): Promise<void> {
    await this.dynamodb.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { ...queueKey(job.receivedAt, job.exportId), exportId: { S: job.exportId }, userId: { S: job.userId }, receivedAt: { S: job.receivedAt } },
      }),
    );
  }

  /** Takes the export out of the queue; no error when it is no longer there. */
  async dequeue(job: Queued): Promise<void> {
    await this.dynamodb.send(new DeleteItemCommand({ TableName: this.tableName, Key: queueKey(job.receivedAt, job.exportId) }));
  }

  async isWaiting(job: Queued): Promise<boolean> {
    const row = await this.dynamodb.send(new GetItemCommand({ TableName: this.tableName, Key: queueKey(job.receivedAt, job.exportId), ConsistentRead: true }));
    return row.Item !== undefined;
  }

  /** The waiting exports, oldest first, a page at a time. */
  async *waiting(pageSize = 25): AsyncGenerator<QueueEntry[]> {
    const pages = queryPages(this.dynamodb, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :queue',
      ExpressionAttributeValues: { ':queue': QUEUE_PARTITION },
      ConsistentRead: true,
      Limit: pageSize,
    });
    for await (const page of pages) {
      yield (page.Items ?? []).map((item) => ({ exportId: item.exportId?.S ?? '', userId: item.userId?.S ?? '', receivedAt: item.receivedAt?.S ?? '' }));
    }
  }

  /** How many exports wait ahead of this one; undefined when it is not waiting (admitted, ended, or never queued). */
  async ahead(job: Queued): Promise<number | undefined> {
    if (!(await this.isWaiting(job))) return undefined;
    const pages = queryPages(this.dynamodb, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :queue AND sk < :mine',
      ExpressionAttributeValues: { ':queue': QUEUE_PARTITION, ':mine': queueKey(job.receivedAt, job.exportId).sk },
      Select: 'COUNT',
      ConsistentRead: true,
    });
    let count = 0;
    for await (const page of pages) count += page.Count ?? 0;
    return count;
  }

  /**
   * Takes a slot for the export, if fewer than `cap` are held; one it already holds counts as taken
   * (a repeated event or a second admitter takes no second slot).
   */
  async acquire(exportId: string, cap: number): Promise<boolean> {
    const taken = await ifApplied(
      this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: SLOTS_KEY,
          UpdateExpression: 'ADD holders :me',
          ConditionExpression: 'attribute_not_exists(holders) OR size(holders) < :cap OR contains(holders, :id)',
          ExpressionAttributeValues: { ':me': { SS: [exportId] }, ':cap': { N: String(cap) }, ':id': { S: exportId } },
        }),
      ),
    );
    return taken !== undefined;
  }

  /** Frees the export's slot; no error when it holds none (every ending path may call this, some twice). */
  async release(exportId: string): Promise<void> {
    await this.dynamodb.send(
      new UpdateItemCommand({ TableName: this.tableName, Key: SLOTS_KEY, UpdateExpression: 'DELETE holders :me', ExpressionAttributeValues: { ':me': { SS: [exportId] } } }),
    );
  }

  /** The exports holding a slot now. */
  async holders(): Promise<string[]> {
    const row = await this.dynamodb.send(new GetItemCommand({ TableName: this.tableName, Key: SLOTS_KEY, ConsistentRead: true }));
    return row.Item?.holders?.SS ?? [];
  }
}
