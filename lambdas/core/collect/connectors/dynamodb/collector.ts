// A DynamoDB source: the user's items, a Query page at a time, staged as export-JSON lines with the
// attribute names each part saw (the CSV's columns) and the types of their values.
import { QueryCommand, type AttributeValue, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { itemToJson, projectItem } from '../../../values/attribute-values.ts';
import type { ColumnTypes } from '../../../values/column-types.ts';
import { excludedNames, renderKeyTemplate } from '../../../data-map/connector.ts';
import { redactionFor } from '../../../values/redaction.ts';
import type { DynamoDbSource } from './schema.ts';
import { SourceReadError } from '../../../platform/errors.ts';
import { nowMs, RecordPart, type CollectCall, type CollectRequest, type CollectResult, type TimeRange } from '../../reading.ts';
import type { SourceReads } from '../../pacing/source-reads.ts';

/** Items in a paced source's first page when nothing is known yet of what its items cost. */
const FIRST_PACED_PAGE = 25;

/**
 * What a source's items cost, in read units per item read, as its last page in this container found:
 * a warm function's next call sizes and estimates its first page by it instead of guessing.
 */
const unitsPerItemOf = new Map<string, number>();
/**
 * What a source's first page cost, as its last call in this container found: most users' data is one
 * short page, so the first page is reserved at that rather than at a full page, which such a user would
 * leave mostly unused. A bigger first page is charged its difference as soon as DynamoDB answers.
 */
const firstPageUnitsOf = new Map<string, number>();

/**
 * The next Query's Limit and its estimated cost in read units. Unpaced: DynamoDB's own 1 MB pages.
 * Paced: as many items as an eighth of a second of the budget pays for, at what the source's items cost
 * (counting ScannedCount: a filter's discarded items are read, and paid for, too). With nothing known
 * yet, the page is reserved as a whole eighth of a second: an estimate that is too low would let every
 * collector that starts at once run ahead of the budget until the store's answers correct it.
 */
export function nextPage(reads: Pick<SourceReads, 'unitsPerRead'>, unitsPerItem: number | undefined): { limit?: number; estimate: number } {
  const target = reads.unitsPerRead;
  if (target === undefined) return { estimate: 0.5 };
  if (unitsPerItem === undefined || unitsPerItem <= 0) return { limit: FIRST_PACED_PAGE, estimate: Math.max(0.5, target) };
  const limit = Math.max(1, Math.min(1000, Math.floor(target / unitsPerItem)));
  // Eventually consistent reads cost half a unit per 4 KB, rounded up: never less than half a unit.
  return { limit, estimate: Math.max(0.5, Math.ceil(limit * unitsPerItem * 2) / 2) };
}

export async function collectDynamoDb(source: DynamoDbSource, request: CollectRequest, deps: CollectCall, deadline: number): Promise<CollectResult> {
  const now = () => nowMs(deps);
  const keyValue = renderKeyTemplate(source.keyTemplate, request.userId);
  const query = userQuery(source, request.userId, request.range);
  let cursor: Record<string, AttributeValue> | undefined = request.cursor ? (JSON.parse(request.cursor) as Record<string, AttributeValue>) : undefined;
  const part = new RecordPart(deps.exportBucket, request);
  const projection = { include: source.include, exclude: excludedNames(source) };
  const redaction = redactionFor(source.redact);
  let unitsPerItem = unitsPerItemOf.get(source.id);
  let first = true;
  do {
    const sized = nextPage(deps.reads, unitsPerItem);
    const { limit } = sized;
    const estimate = first ? Math.min(sized.estimate, firstPageUnitsOf.get(source.id) ?? sized.estimate) : sized.estimate;
    const input = { ...query, ExclusiveStartKey: cursor, ReturnConsumedCapacity: 'TOTAL' as const, ...(limit === undefined ? {} : { Limit: limit }) };
    // What the page cost is what DynamoDB says it consumed, never a guess from the items' count.
    const page = await deps.reads.read(() => deps.dynamodb.send(new QueryCommand(input)), { estimate, actual: (answer) => answer.ConsumedCapacity?.CapacityUnits ?? estimate });
    if (first && page.ConsumedCapacity?.CapacityUnits !== undefined) firstPageUnitsOf.set(source.id, page.ConsumedCapacity.CapacityUnits);
    first = false;
    const scanned = page.ScannedCount ?? page.Count ?? 0;
    if (scanned > 0 && page.ConsumedCapacity?.CapacityUnits !== undefined) {
      unitsPerItem = page.ConsumedCapacity.CapacityUnits / scanned;
      unitsPerItemOf.set(source.id, unitsPerItem);
    }
    const items = page.Items ?? [];
    let lines = '';
    const columns: ColumnTypes = new Map();
    for (const item of items) {
      // Query cannot return another partition, but this is personal data: prove it for every item.
      if (item[source.partitionKey]?.S !== keyValue) {
        throw new SourceReadError(source.id, `Source "${source.id}" returned an item that does not belong to the requested user.`);
      }
      lines += itemToJson(projectItem(item, projection), columns, redaction) + '\n';
    }
    await part.write(lines, items.length, columns);
    cursor = page.LastEvaluatedKey;
  } while (cursor && now() < deadline);
  return {
    ...request,
    cursor: cursor ? JSON.stringify(cursor) : null,
    nextPart: await part.close(),
    records: request.records + part.records,
    done: cursor === undefined,
  };
}

/** Above every character in UTF-8 byte order, which is how DynamoDB compares strings: an open upper bound. */
const HIGHEST_CHARACTER = '\u{10FFFF}';

/**
 * The Query for one user's items of a source: the partition of the rendered key template, narrowed by
 * the sort-key prefix and (for an allow-list) projected. Collecting, finding the recipient and checking
 * that a user exists all read a user this one way.
 */
export function userQuery(source: DynamoDbSource, userId: string, range?: TimeRange | null): QueryCommandInput {
  const keyValue = renderKeyTemplate(source.keyTemplate, userId);
  const names: Record<string, string> = { '#pk': source.partitionKey };
  const values: Record<string, AttributeValue> = { ':pk': { S: keyValue } };
  let condition = '#pk = :pk';
  const ranged = source.timeAttribute !== undefined && range && (range.since !== null || range.until !== null) ? range : undefined;
  let filter: string | undefined;
  if (ranged && source.timeAttribute === source.sortKey) {
    // On the sort key the range is part of the key condition: DynamoDB reads only the items within it.
    // With a prefix, the bounds are the prefix and the time ("MSG#2026-…"), and the prefix bounds an open end.
    const prefix = source.sortKeyPrefix ?? '';
    names['#sk'] = source.sortKey as string;
    if (ranged.since !== null) values[':since'] = { S: prefix + ranged.since };
    if (ranged.until !== null) values[':until'] = { S: prefix + ranged.until };
    if (prefix !== '') {
      // The prefix bounds an open end, so the range never reaches another kind of item.
      values[':since'] ??= { S: prefix };
      values[':until'] ??= { S: prefix + HIGHEST_CHARACTER };
      condition += ' AND #sk BETWEEN :since AND :until';
    } else {
      condition += ranged.since === null ? ' AND #sk <= :until' : ranged.until === null ? ' AND #sk >= :since' : ' AND #sk BETWEEN :since AND :until';
    }
  } else if (source.sortKey !== undefined && source.sortKeyPrefix !== undefined) {
    names['#sk'] = source.sortKey;
    values[':skPrefix'] = { S: source.sortKeyPrefix };
    condition += ' AND begins_with(#sk, :skPrefix)';
  }
  if (ranged && source.timeAttribute !== source.sortKey) {
    // Elsewhere it is a filter: DynamoDB still reads the user's items, and returns those within the range.
    names['#time'] = source.timeAttribute as string;
    const bounds: string[] = [];
    if (ranged.since !== null) {
      values[':since'] = { S: ranged.since };
      bounds.push('#time >= :since');
    }
    if (ranged.until !== null) {
      values[':until'] = { S: ranged.until };
      bounds.push('#time <= :until');
    }
    filter = bounds.join(' AND ');
  }
  let projection: string | undefined;
  if (source.include) {
    // With an allow-list, excluded attributes never leave DynamoDB at all. The partition key is always
    // read (to prove ownership) and dropped again by projectItem when it is not on the list.
    const wanted = [...new Set([...source.include, source.partitionKey])];
    projection = wanted.map((name, i) => ((names[`#p${i}`] = name), `#p${i}`)).join(', ');
  }
  return {
    TableName: source.table,
    IndexName: source.index,
    KeyConditionExpression: condition,
    FilterExpression: filter,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ProjectionExpression: projection,
  };
}
