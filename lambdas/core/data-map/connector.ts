// What the data map knows of a store type (a connector, docs/architecture.md "Adding a store type"):
// its source schema, the top-level fields it adds (databases, user pools), the rules that relate its
// fields, how its records reach the archive, which function reads it, and the IAM grants that reading
// needs. This half of a connector is plain data and zod, so every handler and the CDK app can load the
// data map without bundling any store's client; the collector, in the same folder, does the reading.
import * as z from 'zod';
import { DataMapError } from '../platform/errors.ts';
import { CATEGORIES } from './privacy-policy.ts';

export const PLACEHOLDER = '{userId}';
export const attributeName = z.string().min(1, 'must not be empty').max(255);
export const identifier = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 lowercase letters, digits, "-" or "_", starting with a letter or digit');
export const keyTemplate = z
  .string()
  .refine((t) => t.includes(PLACEHOLDER), `must contain ${PLACEHOLDER}, or every user would read the same data`)
  .refine((t) => !/\{(?!userId\})[^}]*\}/.test(t), `may use only the placeholder ${PLACEHOLDER}`);

export function renderKeyTemplate(template: string, userId: string): string {
  return template.split(PLACEHOLDER).join(userId);
}

export const kmsKeyArn = z.string().regex(/^arn:aws[\w-]*:kms:[\w-]+:\d{12}:key\/[\w-]+$/, 'must be a KMS key ARN');

/** Fields every source has, whatever its store. */
export const commonFields = {
  id: identifier,
  category: z.enum(CATEGORIES, { message: `must be one of: ${CATEGORIES.join(', ')}` }),
  description: z.string().min(1).optional(),
  fields: z.record(attributeName, z.string().min(1)).optional(),
};

/**
 * Attributes never exported: a name, or a name and why. The answer lists each under "withheld", with its
 * reason or the default one (held, not disclosed for security: 11 CCR §7024(d) asks that it be said).
 */
export const excludeList = z
  .array(
    z.union([attributeName, z.object({ attribute: attributeName, reason: z.string().trim().min(1, 'must not be empty').optional() }).strict()], {
      error: 'must be an attribute name, or { "attribute", "reason" }',
    }),
  )
  .transform((list) => list.map((entry) => (typeof entry === 'string' ? { attribute: entry } : entry)));

export type Exclusion = z.output<typeof excludeList>[number];

/** Names of the attributes a parsed source excludes. */
export function excludedNames(source: { exclude?: Exclusion[] }): string[] {
  return (source.exclude ?? []).map((e) => e.attribute);
}

/** Names a raw (unparsed) exclude list gives, for the rules that see the raw map. */
export function rawExcludedNames(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? (value as unknown[]).map((e: unknown) => (e !== null && typeof e === 'object' ? (e as { attribute?: unknown }).attribute : e)) : undefined;
}

/**
 * Other people's values in the user's records (a reviewer's email, the other party's phone number): each
 * is replaced by a text saying so, the field kept. A name, or a dotted path into nested values
 * (`sender.email`); through a list, every element's.
 */
export const redactList = z.array(
  z
    .string()
    .min(1, 'must not be empty')
    .max(1024)
    .refine((path) => path.split('.').every((segment) => segment.length > 0), 'must be an attribute name or a dotted path such as "sender.email", with no empty part'),
);

/** The attribute a date range (`since`, `until`) applies to: ISO 8601 text, compared as the store compares it. */
export const timeAttribute = attributeName;

/**
 * A read budget's rate, in its store's unit per second (read units, rows or requests): at most this
 * much across every export running at once (collect/pacing/source-reads.ts).
 */
export const perSecond = z.number().positive('must be a positive number per second').max(1_000_000, 'must be at most 1000000 per second');

/** A read budget of a source: its shared row's key and its rate. */
export interface ReadBudget {
  key: string;
  perSecond: number;
}

/** The budgets a source reads under: its own, and its table's, database's, bucket's or pool's (when set). */
export function budgetsOf(entries: [key: string, rate: number | undefined][]): ReadBudget[] {
  return entries.filter((entry): entry is [string, number] => entry[1] !== undefined).map(([key, rate]) => ({ key, perSecond: rate }));
}

/** A problem in a data map: where (a path into the file) and what. */
export interface Problem {
  path: PropertyKey[];
  message: string;
}

/** The parts of an ARN that depend on where the stack is deployed (CloudFormation tokens at synth). */
export interface ArnScope {
  partition: string;
  region: string;
  account: string;
}

/** One IAM statement a source needs, as data: the CDK app turns it into a PolicyStatement. */
export interface Grant {
  actions: string[];
  resources: string[];
  conditions?: Record<string, Record<string, string[]>>;
  /** Why a resource holds a wildcard (cdk-nag is told, with this reason). */
  wildcardReason?: string;
}

/**
 * The step function that runs a source's collector. A database is read from inside its VPC, by a
 * function of its own; every other store is read by CollectSource, outside any VPC.
 */
export type CollectorFunction = 'CollectSource' | 'CollectDatabaseSource';

export interface ConnectorSchema<Type extends string = string, S extends { type: Type; id: string } = { type: Type; id: string }> {
  type: Type;
  /** The source's own fields, with `type` a literal: a member of the data map's discriminated union. */
  source: z.ZodObject<{ type: z.ZodLiteral<Type> } & z.ZodRawShape>;
  /** Top-level fields of the data map this store type adds (the databases or pools its sources name). */
  mapFields?: Record<string, z.ZodType>;
  /**
   * Rules that relate a source's fields to each other and to the map (a database that is declared).
   * They see the raw value, so a file shows all its problems at once; paths are relative to the source.
   */
  problems?(source: Record<string, unknown>, map: Record<string, unknown>): Problem[];
  /** `records` become JSON and CSV files; `files` are copied as they are, under the source's folder. */
  output: 'records' | 'files';
  /** CSV columns that come first, in this order: the attributes that identify a record. */
  keyColumns(source: S): string[];
  /** The other columns: `sorted` by name (items without a column order), or `as-read` (a query result's order). */
  columnOrder: 'sorted' | 'as-read';
  collector: CollectorFunction;
  /** Whether its collector reads back what it staged (S3: the ETags of a large copy under way), which needs GetObject on staging. */
  readsStaging?: boolean;
  /** What reading the source needs, for its function's role; `problems` at deploy (a missing aws block) throw. */
  grants(source: S, map: Record<string, unknown>, scope: ArnScope): Grant[];
  /** The read budgets the source's reads take from (none: unpaced), in `budgetUnit`. */
  readBudgets(source: S, map: Record<string, unknown>): ReadBudget[];
  /** What its budgets count: DynamoDB read units, PostgreSQL rows, or requests. */
  budgetUnit: 'read units' | 'rows' | 'requests';
}

/** A connector's schema, typed by what its source schema parses to and by the function that collects it. */
export function connectorSchema<Type extends string, Shape extends { type: z.ZodLiteral<Type> } & z.ZodRawShape, F extends CollectorFunction>(
  definition: Omit<ConnectorSchema<Type, z.infer<z.ZodObject<Shape>> & { type: Type; id: string }>, 'source' | 'collector'> & { source: z.ZodObject<Shape>; collector: F },
): typeof definition {
  return definition;
}

/**
 * Problems when `include` and `exclude` are both given, exclude a column the source cannot do without,
 * or `redact` names what is excluded or the key that finds the user (`required`).
 */
export function projectionProblems(source: Record<string, unknown>, required: unknown[]): Problem[] {
  const problems: Problem[] = [];
  const exclude = rawExcludedNames(source.exclude);
  if (source.include !== undefined && exclude !== undefined) {
    problems.push({ path: ['exclude'], message: 'cannot be combined with "include"; list only the attributes to export' });
  }
  for (const key of required) {
    if (typeof key === 'string' && exclude?.includes(key)) problems.push({ path: ['exclude'], message: `cannot exclude the key attribute "${key}"` });
  }
  if (Array.isArray(source.redact)) {
    source.redact.forEach((path, i) => {
      if (typeof path !== 'string') return;
      const top = path.split('.')[0];
      if (exclude?.includes(path) || exclude?.includes(top))
        problems.push({ path: ['redact', i], message: `"${path}" is excluded already; an excluded attribute is never exported, so there is nothing to redact` });
      if (required.includes(path)) problems.push({ path: ['redact', i], message: `cannot redact "${path}": it is the key that finds the user's own records` });
    });
  }
  return problems;
}

/** A top-level entry a source names (`databases.marketplace`): a problem when the map does not declare it. */
export function declaredProblem(source: Record<string, unknown>, map: Record<string, unknown>, field: string, mapField: string): Problem[] {
  const name = source[field];
  if (typeof name !== 'string') return [];
  const declared = map[mapField];
  if (declared !== null && typeof declared === 'object' && Object.hasOwn(declared, name)) return [];
  const known = declared !== null && typeof declared === 'object' ? Object.keys(declared) : [];
  return [{ path: [field], message: `names "${name}", which "${mapField}" does not declare${known.length > 0 ? ` (it declares ${known.map((k) => `"${k}"`).join(', ')})` : ''}` }];
}

/**
 * The deploy-time settings of a declared entry (`databases.x.aws`), checked against their exact shape
 * here, at synth: loading a map accepts any text in an `aws` block, which the embedded stack ignores.
 */
export function awsSettings<T>(map: Record<string, unknown>, mapField: string, name: string, sourceId: string, schema: z.ZodType<T>): T {
  const entry = (map[mapField] as Record<string, { aws?: unknown }> | undefined)?.[name];
  if (!entry?.aws) {
    throw new DataMapError(`Source "${sourceId}" reads ${mapField}.${name}, which has no "aws" block: deploying needs it (the embedded stack does not).`);
  }
  const parsed = schema.safeParse(entry.aws);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `  - ${mapField}.${name}.aws${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${issue.message}`,
  );
  throw new DataMapError(`Source "${sourceId}" reads ${mapField}.${name}, whose "aws" block cannot be deployed:\n${problems.join('\n')}`);
}

/** Text in an `aws` block as a map is loaded: its exact shape is checked at synth (`awsSettings`). */
export const awsText = z.string().min(1, 'must not be empty');
