// The data map (docs/architecture.md): which stores hold what about a user. Validated here at synth time and at
// run time; IAM grants are derived from it, so a mistake must stop everything with a precise message.
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { DataMapError } from '../platform/errors.ts';
import { CONNECTORS } from '../collect/connectors/schemas.ts';
import type { CognitoSource, UserPool } from '../collect/connectors/cognito/schema.ts';
import type { DynamoDbSource, DynamoDbTable } from '../collect/connectors/dynamodb/schema.ts';
import type { PostgresDatabase, PostgresSource } from '../collect/connectors/postgres/schema.ts';
import type { S3Bucket, S3Source } from '../collect/connectors/s3/schema.ts';
import { attributeName, excludedNames, rawExcludedNames, identifier, type ConnectorSchema, type Problem, type ReadBudget } from './connector.ts';
import {
  CATEGORIES,
  DEFAULT_CATEGORY_POLICIES,
  DEFAULT_COMPLAINT,
  DEFAULT_CONTROLLER,
  DEFAULT_RIGHTS,
  REQUIRED_CATEGORY_FIELDS,
  type Category,
  type CategoryFacts,
  type Controller,
} from './privacy-policy.ts';

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

const text = z.string().trim().min(1, 'must not be empty');

const categoryPolicySchema = z
  .object({
    title: text,
    holds: text,
    purpose: text,
    sharing: text,
    retention: text,
    legalBasis: text,
    recipients: z.array(z.object({ name: text, country: text.optional(), safeguard: text.optional() }).strict()),
    origin: z.array(text).min(1, 'must say where the data comes from'),
    automatedDecisions: text,
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
    /** Who answers the request; the privacy policy's contact by default. */
    controller: z.object({ name: text, contact: text, address: text.optional(), dpo: text.optional() }).strict().optional(),
    /** The rights to rectify, erase, restrict and object, in plain words; the policy's by default. */
    rights: z.array(text).min(1).optional(),
    /** How to complain to a supervisory authority. */
    complaint: text.optional(),
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
  tables?: Record<string, DynamoDbTable>;
  buckets?: Record<string, S3Bucket>;
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
    } else if (rawExcludedNames(target.exclude)?.includes(attribute) || (Array.isArray(target.include) && !target.include.includes(attribute))) {
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

export { excludedNames, renderKeyTemplate } from './connector.ts';

/** The CSV columns that come first for a source, in order, that its export holds (an excluded one does not). */
export function keyColumnsOf(source: Source): string[] {
  const keys = (connectorOf(source).keyColumns as (s: Source) => string[])(source);
  const exclude = 'exclude' in source ? excludedNames(source) : [];
  const include = 'include' in source ? source.include : undefined;
  return keys.filter((k) => !exclude.includes(k) && (!include || include.includes(k)));
}

/** What the data map knows of a source's store type. */
export function connectorOf(source: Pick<Source, 'type'>): (typeof CONNECTORS)[number] {
  const connector = CONNECTORS.find((c) => c.type === source.type);
  if (!connector) throw new DataMapError(`No store type "${source.type}".`);
  return connector;
}

/** The read budgets a source's reads take from: its own, and its table's, database's, bucket's or pool's. */
export function readBudgetsOf(map: DataMap, source: Source): ReadBudget[] {
  const budgets = connectorOf(source).readBudgets as (source: Source, map: Record<string, unknown>) => ReadBudget[];
  return budgets(source, map);
}

/** A category's facts as far as the policy and the data map give them (answerProblems says what is missing). */
export function categoryPolicy(map: DataMap, category: Category): Partial<CategoryFacts> & (typeof DEFAULT_CATEGORY_POLICIES)[Category] {
  return { ...DEFAULT_CATEGORY_POLICIES[category], ...map.categories?.[category] };
}

/**
 * What an access request must be told and the map does not say, for every category a source uses:
 * the legal basis, recipients and automated decisions (the policy gives the rest). Loading a map does
 * not ask for these, so every map that was valid stays valid (docs/architecture.md); synth refuses a map
 * with any (assertAnswerable), and so do the demo and the local server once a map states any legal fact.
 */
export function answerProblems(map: DataMap): string[] {
  const used = CATEGORIES.filter((c) => map.sources.some((s) => s.category === c));
  return used.flatMap((category) => {
    const facts = categoryPolicy(map, category);
    const by = map.sources.find((s) => s.category === category)?.id ?? '';
    return REQUIRED_CATEGORY_FIELDS.filter((field) => facts[field] === undefined).map(
      (field) => `categories.${category}.${field}: is missing (category "${category}" is used by source "${by}")`,
    );
  });
}

/**
 * Whether a map states any legal fact (controller, rights, complaint, or a category's basis, recipients,
 * origin or automated decisions). A map written before the answer carried them states none: the demo
 * and the local server still run it, and its answer says what it does not state (about-this-export.json
 * "incomplete"); a map that states some must state them all.
 */
export function statesLegalFacts(map: DataMap): boolean {
  if (map.controller !== undefined || map.rights !== undefined || map.complaint !== undefined) return true;
  return Object.values(map.categories ?? {}).some((c) => ['legalBasis', 'recipients', 'origin', 'automatedDecisions'].some((field) => field in c));
}

/** Refuses a map that cannot answer an access request; `origin` (a file name) starts the message. */
export function assertAnswerable(map: DataMap, origin = 'The data map'): void {
  const problems = answerProblems(map);
  if (problems.length === 0) return;
  throw new DataMapError(`${origin} does not say everything an access request must be told (GDPR Art. 15(1)):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

/** What the answer says of a fact the data map does not state (only a map refused at synth can lack one). */
export const NOT_STATED = 'Not stated: the data map this export ran with does not give it.';

/** A used category's every fact; one the map does not state reads NOT_STATED (and no recipient is named). */
export function categoryFacts(map: DataMap, category: Category): CategoryFacts {
  const facts = categoryPolicy(map, category);
  return { ...facts, legalBasis: facts.legalBasis ?? NOT_STATED, recipients: facts.recipients ?? [], automatedDecisions: facts.automatedDecisions ?? NOT_STATED };
}

/** Who answers, the rights and the complaint: the data map's words, else the privacy policy's. */
export function answerParties(map: DataMap): { controller: Controller; rights: string[]; complaint: string } {
  return { controller: map.controller ?? DEFAULT_CONTROLLER, rights: map.rights ?? DEFAULT_RIGHTS, complaint: map.complaint ?? DEFAULT_COMPLAINT };
}

/** Sources to collect for the requested categories (all when none requested), in data map order. */
export function selectSources(map: DataMap, categories?: readonly Category[]): Source[] {
  if (!categories || categories.length === 0) return map.sources;
  return map.sources.filter((s) => categories.includes(s.category));
}
