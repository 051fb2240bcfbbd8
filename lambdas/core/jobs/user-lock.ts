// Each user's lock row in the jobs table (USER#<userId>/LOCK): it exists while the user has an active
// export, and names that export. Taken and freed by conditional writes, so two starts never both win.
import { DeleteItemCommand, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ExportInProgressError } from '../platform/errors.ts';
import { ifApplied, lockKey } from './jobs-table-layout.ts';

export class UserLock {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /**
   * Takes the user's lock for the export. Held by an export `isActive` confirms: ExportInProgressError
   * naming it. Held by one that already ended (a crash between steps): taken over, so a lost release
   * never blocks the user for ever.
   */
  async acquire(userId: string, exportId: string, at: string, isActive: (holder: string) => Promise<boolean>): Promise<void> {
    const row = { ...lockKey(userId), activeExportId: { S: exportId }, lockedAt: { S: at } };
    if (await ifApplied(this.dynamodb.send(new PutItemCommand({ TableName: this.tableName, Item: row, ConditionExpression: 'attribute_not_exists(pk)' })))) return;
    const holder = await this.holder(userId);
    if (holder === undefined) return this.acquire(userId, exportId, at, isActive);
    if (await isActive(holder)) throw new ExportInProgressError(holder);
    const takenOver = await ifApplied(
      this.dynamodb.send(
        new PutItemCommand({ TableName: this.tableName, Item: row, ConditionExpression: 'activeExportId = :stale', ExpressionAttributeValues: { ':stale': { S: holder } } }),
      ),
    );
    if (!takenOver) throw new ExportInProgressError(holder);
  }

  /** Frees the user's lock if (and only if) this export holds it. */
  async release(userId: string, exportId: string): Promise<void> {
    await ifApplied(
      this.dynamodb.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: lockKey(userId),
          ConditionExpression: 'activeExportId = :id',
          ExpressionAttributeValues: { ':id': { S: exportId } },
        }),
      ),
    );
  }

  /** The export holding the user's lock, if any. */
  async holder(userId: string): Promise<string | undefined> {
    const lock = await this.dynamodb.send(new GetItemCommand({ TableName: this.tableName, Key: lockKey(userId), ConsistentRead: true }));
    return lock.Item?.activeExportId?.S;
  }
}
