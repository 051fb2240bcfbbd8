// Creates the stack's own jobs table and export bucket, and the data map's tables and buckets, in the
// emulators, and loads a seed into them.
import { BatchWriteItemCommand, CreateTableCommand, type AttributeValue, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { WireItem, WireValue } from '../lambdas/core/values/attribute-values.ts';
import type { DataMap } from '../lambdas/core/data-map/data-map.ts';
import { JOBS_TABLE_SCHEMA } from '../lambdas/core/jobs/job-store.ts';
import { LOCAL_NAMES } from './iam/local-resources.ts';
import { resolveTableSchemas, type Seed, type TableSchema } from './seed.ts';

export function wireToAttributeValue(value: WireValue): AttributeValue {
  if ('B' in value) return { B: Buffer.from(value.B, 'base64') };
  if ('BS' in value) return { BS: value.BS.map((b) => Buffer.from(b, 'base64')) };
  if ('L' in value) return { L: value.L.map(wireToAttributeValue) };
  if ('M' in value) return { M: wireToItem(value.M) };
  return value;
}

export function wireToItem(item: WireItem): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, wireToAttributeValue(v)]));
}

/** The jobs table with its indexes, from the schema lib/jobs-table.ts deploys, and the export bucket. */
export async function createStackStores(clients: { dynamodb: DynamoDBClient; s3: S3Client }): Promise<void> {
  const { partitionKey, sortKey, byUserIndex, openIndex } = JOBS_TABLE_SCHEMA;
  const indexes = Object.fromEntries([byUserIndex, openIndex].map(({ name, ...keys }) => [name, keys]));
  await createTable(clients.dynamodb, LOCAL_NAMES.jobsTable, { partitionKey, sortKey, indexes });
  await createBucket(clients.s3, LOCAL_NAMES.exportBucket);
}

export async function createTable(dynamodb: DynamoDBClient, name: string, schema: TableSchema): Promise<void> {
  const keyNames = new Set([schema.partitionKey, schema.sortKey, ...Object.values(schema.indexes ?? {}).flatMap((i) => [i.partitionKey, i.sortKey])]);
  const keySchema = (k: { partitionKey: string; sortKey?: string }) => [
    { AttributeName: k.partitionKey, KeyType: 'HASH' as const },
    ...(k.sortKey ? [{ AttributeName: k.sortKey, KeyType: 'RANGE' as const }] : []),
  ];
  const indexes = Object.entries(schema.indexes ?? {});
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...keyNames].filter((k): k is string => k !== undefined).map((k) => ({ AttributeName: k, AttributeType: 'S' })),
        KeySchema: keySchema(schema),
        GlobalSecondaryIndexes:
          indexes.length > 0 ? indexes.map(([indexName, k]) => ({ IndexName: indexName, KeySchema: keySchema(k), Projection: { ProjectionType: 'ALL' } })) : undefined,
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ResourceInUseException') throw error;
  }
}

export async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}

/** Loads a seed: creates every table and bucket the data map or seed names, then writes the data. */
export async function loadSeed(seed: Seed, dataMap: DataMap, clients: { dynamodb: DynamoDBClient; s3: S3Client }, origin = 'seed'): Promise<{ items: number; objects: number }> {
  const schemas = resolveTableSchemas(seed, dataMap, origin);
  for (const [table, schema] of schemas) await createTable(clients.dynamodb, table, schema);
  const buckets = new Set([...dataMap.sources.flatMap((s) => (s.type === 's3' ? [s.bucket] : [])), ...seed.objects.map((o) => o.bucket)]);
  for (const bucket of buckets) await createBucket(clients.s3, bucket);

  let items = 0;
  for (const [table, rows] of Object.entries(seed.tables)) {
    for (let i = 0; i < rows.length; i += 25) {
      let requests: WriteRequest[] = rows.slice(i, i + 25).map((item) => ({ PutRequest: { Item: wireToItem(item) } }));
      for (let attempt = 0; requests.length > 0; attempt += 1) {
        if (attempt > 10) throw new Error(`Could not write items to table ${table}: the emulator kept returning them unprocessed.`);
        const result = await clients.dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
        requests = result.UnprocessedItems?.[table] ?? [];
      }
    }
    items += rows.length;
  }
  // Sixteen uploads at a time: a seed of thousands of files loads in seconds, not minutes.
  const queue = [...seed.objects];
  await Promise.all(
    Array.from({ length: Math.min(16, queue.length) }, async () => {
      for (let object = queue.shift(); object; object = queue.shift()) {
        await clients.s3.send(new PutObjectCommand({ Bucket: object.bucket, Key: object.key, Body: Buffer.from(object.base64, 'base64') }));
      }
    }),
  );
  return { items, objects: seed.objects.length };
}
