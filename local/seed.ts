// Seed files for the embedded stack (README, "The seed file"): tables of items in DynamoDB JSON, optional key schemas,
// and S3 objects. Validated before anything is created, with errors naming the file and the field.
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import type { WireItem, WireValue } from '../lambdas/core/values/attribute-values.ts';
import type { DataMap } from '../lambdas/core/data-map/data-map.ts';
import { SeedError } from '../lambdas/core/platform/errors.ts';

const numberText = z.string({ error: 'must be a number written as a string' }).regex(/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, 'must be a number written as a string');
// Padded base64 only: Buffer.from would silently drop the leftover of an impossible length.
const base64 = z.string().regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'must be base64');

/** DynamoDB refuses empty sets and sets with repeated members. */
const uniqueSet = (member: z.ZodString) =>
  z
    .array(member)
    .min(1, 'a set must not be empty')
    .refine((values) => new Set(values).size === values.length, 'a set must not repeat a value');

const VALUE_MESSAGE = 'must be a DynamoDB JSON value such as {"S": "text"} or {"N": "1.5"}';

/** One schema per DynamoDB type, chosen by the value's single key. */
const valueTypes: Record<string, z.ZodType> = {
  S: z.object({ S: z.string() }).strict(),
  N: z.object({ N: numberText }).strict(),
  B: z.object({ B: base64 }).strict(),
  BOOL: z.object({ BOOL: z.boolean() }).strict(),
  NULL: z.object({ NULL: z.literal(true) }).strict(),
  SS: z.object({ SS: uniqueSet(z.string()) }).strict(),
  NS: z.object({ NS: uniqueSet(numberText) }).strict(),
  BS: z.object({ BS: uniqueSet(base64) }).strict(),
  L: z.object({ L: z.array(z.lazy(() => attributeValue)) }).strict(),
  M: z
    .object({
      M: z.record(
        z.string(),
        z.lazy(() => attributeValue),
      ),
    })
    .strict(),
};

/**
 * A DynamoDB JSON value. Choosing the type by its key (rather than a zod union, which reports a failing
 * union only at its top) lets a mistake deep inside a map or list be reported at its own path.
 */
const attributeValue: z.ZodType<WireValue> = z.unknown().superRefine((value, ctx) => {
  const keys = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  const type = keys.length === 1 ? valueTypes[keys[0] ?? ''] : undefined;
  const result = type?.safeParse(value);
  if (!result) {
    ctx.addIssue({ code: 'custom', message: VALUE_MESSAGE });
    return;
  }
  for (const issue of result.error?.issues ?? []) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
}) as unknown as z.ZodType<WireValue>;

const keySchema = z.object({ partitionKey: z.string().min(1), sortKey: z.string().min(1).optional() }).strict();
const tableName = z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name');

const storeName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a name the data map declares');

/** A user of a Cognito pool, as the seed gives it: created with its attributes, in its groups, enabled or not. */
const cognitoUser = z
  .object({
    username: z.string().min(1).max(128),
    attributes: z.record(z.string().min(1).max(64), z.string().max(2048)).default({}),
    groups: z.array(z.string().min(1).max(128)).default([]),
    enabled: z.boolean().default(true),
  })
  .strict();

export type SeedCognitoUser = z.infer<typeof cognitoUser>;

const seedSchema = z
  .object({
    /** SQL statements per database of the data map, run in order before the export. */
    postgres: z.record(storeName, z.array(z.string().min(1, 'must not be empty'))).optional(),
    /** Users per user pool of the data map. */
    cognito: z.record(storeName, z.array(cognitoUser)).optional(),
    tables: z.record(tableName, z.array(z.record(z.string(), attributeValue))).default({}),
    schemas: z.record(tableName, keySchema.extend({ indexes: z.record(z.string().min(3), keySchema).optional() }).strict()).default({}),
    objects: z
      .array(
        z
          .object({
            bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
            key: z.string().min(1).max(1024),
            base64,
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export type Seed = z.infer<typeof seedSchema>;
export type TableSchema = Seed['schemas'][string];

export function parseSeed(value: unknown, origin = 'seed'): Seed {
  const result = seedSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 20).map((issue) => `  - ${formatPath(issue.path)}: ${issue.message}`);
  const more = result.error.issues.length > 20 ? `\n  … and ${result.error.issues.length - 20} more` : '';
  throw new SeedError(`${origin} is not a valid seed:\n${problems.join('\n')}${more}`);
}

export function loadSeedFile(path: string): Seed {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SeedError(`Cannot read the seed file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SeedError(`The seed file ${path} is not valid JSON: ${(error as Error).message}.`);
  }
  return parseSeed(json, `The seed file ${path}`);
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(the whole file)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

/**
 * The key schema of every table the data map or the seed names. A table without an explicit schema is
 * keyed by the data map's partitionKey (and sortKey); a table read through an index needs a schema.
 */
export function resolveTableSchemas(seed: Seed, dataMap: DataMap, origin = 'seed'): Map<string, TableSchema> {
  const schemas = new Map<string, TableSchema>(Object.entries(seed.schemas));
  const problems: string[] = [];
  for (const source of dataMap.sources) {
    if (source.type !== 'dynamodb') continue;
    const explicit = schemas.get(source.table);
    const keysRead = source.index !== undefined ? explicit?.indexes?.[source.index] : explicit;
    if (keysRead && (keysRead.partitionKey !== source.partitionKey || (source.sortKey !== undefined && keysRead.sortKey !== source.sortKey))) {
      const where = source.index !== undefined ? `schemas.${source.table}.indexes.${source.index}` : `schemas.${source.table}`;
      problems.push(
        `${where} is keyed by "${keysRead.partitionKey}"${keysRead.sortKey ? ` + "${keysRead.sortKey}"` : ''}, but source "${source.id}" reads it by "${source.partitionKey}"${source.sortKey ? ` + "${source.sortKey}"` : ''}`,
      );
    }
    if (source.index !== undefined) {
      if (!explicit) {
        problems.push(
          `table "${source.table}" is read through index "${source.index}" by source "${source.id}", so ${origin} needs schemas.${source.table} with the table's keys and indexes.${source.index}`,
        );
      } else if (!explicit.indexes?.[source.index]) {
        problems.push(`schemas.${source.table}.indexes has no "${source.index}", which source "${source.id}" reads`);
      }
      continue;
    }
    if (!explicit) schemas.set(source.table, { partitionKey: source.partitionKey, sortKey: source.sortKey });
  }
  for (const [field, declared] of [
    ['postgres', 'databases'],
    ['cognito', 'userPools'],
  ] as const) {
    for (const name of Object.keys(seed[field] ?? {})) {
      if (!dataMap[declared]?.[name]) problems.push(`${field}.${name} names a store the data map's "${declared}" does not declare`);
    }
  }
  for (const table of Object.keys(seed.tables)) {
    if (!schemas.has(table)) problems.push(`tables.${table} is not in the data map and has no schemas.${table}, so its keys are unknown`);
  }
  for (const [table, items] of Object.entries(seed.tables)) {
    const schema = schemas.get(table);
    if (!schema) continue;
    const keys = [schema.partitionKey, schema.sortKey, ...Object.values(schema.indexes ?? {}).flatMap((i) => [i.partitionKey, i.sortKey])];
    items.forEach((item: WireItem, i) => {
      for (const key of [schema.partitionKey, schema.sortKey]) {
        if (key !== undefined && !item[key]) problems.push(`tables.${table}[${i}] lacks its key attribute "${key}"`);
      }
      for (const key of keys) {
        const value = key === undefined ? undefined : item[key];
        if (value && !('S' in value)) problems.push(`tables.${table}[${i}].${key} is a key attribute and must be a string ({"S": …})`);
      }
    });
  }
  if (problems.length > 0) throw new SeedError(`${origin} does not fit the data map:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return schemas;
}
