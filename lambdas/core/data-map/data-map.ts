// The data map (docs/architecture.md): which stores hold what about a user. Validated here at synth time and at
// run time; IAM grants are derived from it, so a mistake must stop everything with a precise message.
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { DataMapError } from '../platform/errors.ts';
import { CONNECTORS } from '../collect/connectors/schemas.ts';
import type { CognitoSource, UserPool } from '../collect/connectors/cognito/schema.ts';
import type { DynamoDbSource } from '../collect/connectors/dynamodb/schema.ts';
import type { PostgresDatabase, PostgresSource } from '../collect/connectors/postgres/schema.ts';
import type { S3Source } from '../collect/connectors/s3/schema.ts';
import { attributeName, identifier, type ConnectorSchema, type Problem } from './connector.ts';
import { CATEGORIES, DEFAULT_CATEGORY_POLICIES, type Category, type CategoryPolicy } from './privacy-policy.ts';

const sourceSchemas = CONNECTORS.map((connector) => connector.source) as unknown as [ZodSource<(typeof CONNECTORS)[number]>, ...ZodSource<(typeof CONNECTORS)[number]>[]];
type ZodSource<C> = C extends { source: infer S } ? S : never;

const source = z.discriminatedUnion('type', sourceSchemas, {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `must have "type" ${CONNECTORS.slice(0, -1)
          .map((c) => `"${c.type}"`)
          .join(', ')} or "${CONNECTORS.at(-1)?.type}"`
      : undefined,
});

/** The top-level fields the store types add (databases, userPools). */
const connectorFields = Object.assign({}, ...CONNECTORS.map((c) => ('mapFields' in c ? c.mapFields : {}))) as Record<string, z.ZodType>;

const categoryPolicySchema = z
  .object({
    title: z.string().min(1),
    holds: z.string().min(1),
    purpose: z.string().min(1),
    sharing: z.string().min(1),
    retention: z.string().min(1),
  })
  .partial()
  .strict();

const dataMapSchema = z
  .object({
    $schema: z.string().optional(),
    description: z.string().optional(),
    sources: z.array(source).min(1, 'must list at least one source'),
    ...Object.fromEntries(Object.entries(connectorFields).map(([name, schema]) => [name, schema.optional()])),
    categories: z.partialRecord(z.enum(CATEGORIES), categoryPolicySchema).optional(),
    /** Where the user's email address lives, for exports started without one (support, CLI). */
    recipient: z.object({ sourceId: identifier, attribute: attributeName }).strict().optional(),
    /**
     * CSV files are UTF-8 and begin with a byte-order mark by default: Excel reads a CSV without one in
     * the local code page ("日本" comes out as mojibake). `byteOrderMark: false` leaves it out, for
     * machine consumers that would take it for part of the first column's name.
     */
    csv: z
      .object({ byteOrderMark: z.boolean().default(true) })
      .strict()
      .default({ byteOrderMark: true }),
  })
  .strict();

export type { DynamoDbSource, S3Source, PostgresSource, CognitoSource };
export type Source = DynamoDbSource | S3Source | PostgresSource | CognitoSource;
export type DataMap = Omit<z.infer<typeof dataMapSchema>, 'sources'> & {
  sources: Source[];
  databases?: Record<string, PostgresDatabase>;
  userPools?: Record<string, UserPool>;
};

/**
 * Rules that relate fields to each other. They run on the raw value, not as zod refinements, because
 * zod skips refinements once any field failed, and a file should show all of its problems at once.
 */
function crossFieldProblems(value: unknown): Problem[] {
  const problems: Problem[] = [];
  const map = value as { sources?: unknown; recipient?: { sourceId?: unknown; attribute?: unknown } } | null;
  if (!map || typeof map !== 'object' || !Array.isArray(map.sources)) return problems;
  const sources = map.sources as Record<string, unknown>[];
  const seen = new Set<unknown>();
  sources.forEach((s, i) => {
    if (!s || typeof s !== 'object') return;
    if (seen.has(s.id)) problems.push({ path: ['sources', i, 'id'], message: `duplicates source id "${String(s.id)}"` });
    seen.add(s.id);
    const connector = CONNECTORS.find((c) => c.type === s.type);
    const rules = (connector as { problems?: ConnectorSchema['problems'] } | undefined)?.problems;
    if (rules) {
      for (const problem of rules(s, map)) problems.push({ path: ['sources', i, ...problem.path], message: problem.message });
    }
  });
  if (map.recipient && typeof map.recipient === 'object') {
    const target = sources.find((s) => s && typeof s === 'object' && s.id === map.recipient?.sourceId);
    const attribute = map.recipient.attribute;
    if (!target || target.type !== 'dynamodb') {
      problems.push({ path: ['recipient', 'sourceId'], message: 'must name a dynamodb source of this map' });
    } else if ((Array.isArray(target.exclude) && target.exclude.includes(attribute)) || (Array.isArray(target.include) && !target.include.includes(attribute))) {
      problems.push({ path: ['recipient', 'attribute'], message: `is not exported by source "${String(target.id)}", so it cannot be read for the recipient` });
    }
  }
  return problems;
}

/** Validates a parsed data map; `origin` (a file name) starts every error message. */
export function parseDataMap(value: unknown, origin = 'data map'): DataMap {
  const result = dataMapSchema.safeParse(value);
  const problems: Problem[] = [...(result.success ? [] : result.error.issues.map((i) => ({ path: i.path, message: i.message }))), ...crossFieldProblems(value)];
  if (result.success && problems.length === 0) return result.data;
  const lines = problems.map((problem) => `  - ${describePath(value, problem.path)}: ${problem.message}`);
  throw new DataMapError(`${origin} is not a valid data map:\n${lines.join('\n')}`);
}

export function loadDataMapFile(path: string): DataMap {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DataMapError(`Cannot read the data map file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DataMapError(`The data map file ${path} is not valid JSON: ${(error as Error).message}.`);
  }
  return parseDataMap(json, `The data map file ${path}`);
}

/** `sources[2] ("messages").sortKeyPrefix`: the source id makes the position findable in a long file. */
function describePath(root: unknown, path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(the whole file)';
  let text = '';
  let node: unknown = root;
  for (const segment of path) {
    text += typeof segment === 'number' ? `[${segment}]` : `${text ? '.' : ''}${String(segment)}`;
    node = node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[segment] : undefined;
    if (typeof segment === 'number' && node !== null && typeof node === 'object' && typeof (node as { id?: unknown }).id === 'string') {
      text += ` ("${(node as { id: string }).id}")`;
    }
  }
  return text;
}

export function findSource(map: DataMap, sourceId: string): Source {
  const found = map.sources.find((s) => s.id === sourceId);
  if (!found) throw new DataMapError(`The data map has no source "${sourceId}".`);
  return found;
}

/** Where a user's account lives: the first DynamoDB source of the account category. */
export function accountSource(map: DataMap): DynamoDbSource | undefined {
  return map.sources.find((s): s is DynamoDbSource => s.category === 'account' && s.type === 'dynamodb');
}

/** Where a user's email address is read: the map's `recipient`, or else `email` of the account source. */
export function recipientOf(map: DataMap): { source: DynamoDbSource; attribute: string } | undefined {
  if (!map.recipient) {
    const account = accountSource(map);
    return account && { source: account, attribute: 'email' };
  }
  const source = findSource(map, map.recipient.sourceId);
  return source.type === 'dynamodb' ? { source, attribute: map.recipient.attribute } : undefined;
}

export { renderKeyTemplate } from './connector.ts';

/** The CSV columns that come first for a source, in order, that its export holds (an excluded one does not). */
export function keyColumnsOf(source: Source): string[] {
  const keys = (connectorOf(source).keyColumns as (s: Source) => string[])(source);
  const exclude = 'exclude' in source ? source.exclude : undefined;
  const include = 'include' in source ? source.include : undefined;
  return keys.filter((k) => !exclude?.includes(k) && (!include || include.includes(k)));
}

/** What the data map knows of a source's store type. */
export function connectorOf(source: Pick<Source, 'type'>): (typeof CONNECTORS)[number] {
  const connector = CONNECTORS.find((c) => c.type === source.type);
  if (!connector) throw new DataMapError(`No store type "${source.type}".`);
  return connector;
}

export function categoryPolicy(map: DataMap, category: Category): CategoryPolicy {
  return { ...DEFAULT_CATEGORY_POLICIES[category], ...map.categories?.[category] };
}

/** Sources to collect for the requested categories (all when none requested), in data map order. */
export function selectSources(map: DataMap, categories?: readonly Category[]): Source[] {
  if (!categories || categories.length === 0) return map.sources;
  return map.sources.filter((s) => categories.includes(s.category));
}
