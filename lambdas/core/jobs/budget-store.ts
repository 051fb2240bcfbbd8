// The shared state of read budgets: one row per budget in the jobs table, holding the time its next
// read may start (a "theoretical arrival time", as in GCRA). Every collector of every export reserves
// from the same row with a conditional write, so a budget holds across all exports running at once.
import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ifApplied } from './jobs-table-layout.ts';

const budgetKey = (budget: string) => ({ pk: { S: `BUDGET#${budget}` }, sk: { S: 'PACE' } });

export class BudgetStore {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /**
   * Reserves `costMs` of the budget's time: the reservation starts when the one before it ends, or now
   * if the budget is idle. Returns when it starts and ends (epoch milliseconds). One write when the budget
   * is busy or idle; a retry only when another reserver moved it between the two cases.
   */
  async reserve(budget: string, costMs: number, nowMs: number): Promise<{ startMs: number; endMs: number }> {
    for (;;) {
      // Busy: append to the end of the line.
      const busy = await ifApplied(
        this.dynamodb.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: budgetKey(budget),
            UpdateExpression: 'SET tat = tat + :cost',
            ConditionExpression: 'tat >= :now',
            ExpressionAttributeValues: { ':cost': { N: String(costMs) }, ':now': { N: String(nowMs) } },
            ReturnValues: 'UPDATED_NEW',
          }),
        ),
      );
      if (busy) {
        const endMs = Number(busy.Attributes?.tat?.N);
        return { startMs: endMs - costMs, endMs };
      }
      // Idle (or never used): start now.
      const idle = await ifApplied(
        this.dynamodb.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: budgetKey(budget),
            UpdateExpression: 'SET tat = :end',
            ConditionExpression: 'attribute_not_exists(tat) OR tat < :now',
            ExpressionAttributeValues: { ':end': { N: String(nowMs + costMs) }, ':now': { N: String(nowMs) } },
          }),
        ),
      );
      if (idle) return { startMs: nowMs, endMs: nowMs + costMs };
    }
  }

  /** Charges more of the budget's time than was reserved (a read that cost more than estimated, or a throttle's pause). */
  async charge(budget: string, extraMs: number): Promise<void> {
    await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: budgetKey(budget),
        UpdateExpression: 'SET tat = if_not_exists(tat, :zero) + :extra',
        ExpressionAttributeValues: { ':extra': { N: String(extraMs) }, ':zero': { N: '0' } },
      }),
    );
  }

  /**
   * Gives back what a reservation did not use, only while it is still the last one (its end is the
   * budget's): a later reservation already starts after it, and moving the end back under it would let
   * the next one overlap.
   */
  async refund(budget: string, reservationEndMs: number, unusedMs: number): Promise<void> {
    await ifApplied(
      this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: budgetKey(budget),
          UpdateExpression: 'SET tat = tat - :unused',
          ConditionExpression: 'tat = :end',
          ExpressionAttributeValues: { ':unused': { N: String(unusedMs) }, ':end': { N: String(reservationEndMs) } },
        }),
      ),
    );
  }
}
