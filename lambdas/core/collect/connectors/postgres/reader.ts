// Reading one user's rows of a PostgreSQL source: keyset pages in `orderBy` order (never OFFSET), in a
// READ ONLY transaction with a statement timeout, the user id always a bind parameter. Each page comes
// back as export-JSON lines (postgres-values.ts) with the cursor of its last row.
import type pg from 'pg';
import { SourceUnavailableError } from '../../../platform/errors.ts';
import { excludedNames } from '../../../data-map/connector.ts';
import { redactionFor } from '../../../values/redaction.ts';
import type { TimeRange } from '../../reading.ts';
import type { PostgresSource } from './schema.ts';
import { baseQuery, pageQuery, rangeValues } from './sql.ts';
import { exportValue, SESSION_SETTINGS, valueKinds, type PgTypeRow, type ValueKind } from './values.ts';
import { declaredTypes, valueType, type DeclaredType } from './field-types.ts';
import { learnType, type ColumnTypes } from '../../../values/column-types.ts';

/** What a read needs of a source: a table and its user column, or a query with `:userId`; an order that is unique. */
export interface PostgresRead {
  id: string;
  table?: string;
  userColumn?: string;
  query?: string;
  orderBy: string[];
  include?: string[];
  exclude?: string[];
  /** Other people's values, replaced as each row becomes export JSON (values/redaction.ts). */
  redact?: string[];
  /** The column a date range applies to. */
  timeAttribute?: string;
}

/** What the reader needs of a data map source: the names its exclude list gives. */
export function postgresRead(source: PostgresSource): PostgresRead {
  return { ...source, exclude: excludedNames(source) };
}

export interface PostgresPage {
  /** One export-JSON object per row, each ending in "\n". */
  lines: string;
  rows: number;
  /** The columns of the export, in the result's order. */
  columns: string[];
  /** The same columns with the type of their cells on this page (none when the page has no rows). */
  types: ColumnTypes;
  /** Where the next page starts; null when this page was the last. */
  cursor: string | null;
}

/** Every value as Postgres's text: the mapping to JSON is ours, per column type, never the driver's. */
export const RAW_TEXT_TYPES = { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig;

const TYPES_QUERY = `WITH RECURSIVE t AS (
  SELECT oid, typname, typcategory, typelem, typdelim, typbasetype FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])
  UNION SELECT p.oid, p.typname, p.typcategory, p.typelem, p.typdelim, p.typbasetype FROM pg_catalog.pg_type p JOIN t ON p.oid = t.typelem OR p.oid = t.typbasetype
) SELECT oid, typname, typcategory, typelem, typdelim, typbasetype FROM t`;

/** How each column type's text becomes export JSON, and what its CSV cells are. */
async function kindsOf(client: pg.ClientBase, oids: number[]): Promise<{ kinds: Map<number, ValueKind>; declared: Map<number, DeclaredType> }> {
  const result = await client.query<Record<keyof PgTypeRow, string>>({ text: TYPES_QUERY, values: [`{${[...new Set(oids)].join(',')}}`], types: RAW_TEXT_TYPES });
  const types = result.rows.map((r) => ({
    oid: Number(r.oid),
    typname: r.typname,
    typcategory: r.typcategory,
    typelem: Number(r.typelem),
    typdelim: r.typdelim,
    typbasetype: Number(r.typbasetype),
  }));
  return { kinds: valueKinds(types), declared: declaredTypes(types) };
}

/**
 * One page of the user's rows, in its own READ ONLY transaction (nothing this reads can write, even a
 * query that calls a function with side effects), cut off by `statementTimeoutMs`.
 */
export async function readPostgresPage(
  client: pg.ClientBase,
  source: PostgresRead,
  /** `userId` null matches nobody: the embedded stack's check that a source's statement runs. */
  request: { userId: string | null; cursor: string | null; limit: number; statementTimeoutMs: number; range?: TimeRange | null },
): Promise<PostgresPage> {
  const range = source.timeAttribute ? request.range : undefined;
  const after = request.cursor === null ? [] : (JSON.parse(request.cursor) as string[]);
  await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
  try {
    const settings = { ...SESSION_SETTINGS, statement_timeout: String(Math.max(1, Math.floor(request.statementTimeoutMs))) };
    for (const [name, value] of Object.entries(settings)) await client.query('SELECT pg_catalog.set_config($1, $2, true)', [name, value]);
    // Raw text on every query, whatever client the caller built: the mapping to JSON is ours alone.
    const result = await client.query<unknown[]>({
      text: pageQuery(source, after.length > 0, request.limit, range),
      values: [request.userId, ...rangeValues(range), ...after],
      rowMode: 'array',
      types: RAW_TEXT_TYPES,
    });
    const fields = result.fields.slice(0, -1);
    const names = fields.map((f) => f.name);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate !== undefined)
      throw new SourceUnavailableError(source.id, `Source "${source.id}" returns two columns named "${duplicate}"; give each a name of its own with AS.`);
    assertOrderByReturned(source, names);
    assertProjectionReturned(source, names);
    assertTimeAttributeReturned(source, names);
    const { kinds, declared } = await kindsOf(
      client,
      fields.map((f) => f.dataTypeID),
    );
    await client.query('COMMIT');
    return toPage(
      source,
      names,
      fields.map((f) => ({ kind: kinds.get(f.dataTypeID) ?? 'text', declared: declared.get(f.dataTypeID) ?? 'string' })),
      result.rows as (string | null)[][],
      request.limit,
    );
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (userIdFitsNoRow(error)) return { lines: '', rows: 0, columns: [], types: new Map(), cursor: null };
    // The page's ORDER BY names the orderBy columns: one the result lacks fails there (42703), before
    // the check above. Say which, from the result's own columns.
    if ((error as { code?: unknown }).code === '42703') assertOrderByReturned(source, await resultColumns(client, source));
    throw error;
  }
}

/**
 * Whether the statement failed because the user id is no value of the type it is compared with (an
 * integer or uuid user column, and the id "zoe" or "x' OR '1'='1"): then no row can be the user's, so
 * the source holds nothing of them. PostgreSQL says so precisely: a data exception (class 22) while
 * binding parameter $1, the user id; a conversion that fails inside the query has no such context.
 */
function userIdFitsNoRow(error: unknown): boolean {
  const { code, where } = error as { code?: unknown; where?: unknown };
  return typeof code === 'string' && code.startsWith('22') && typeof where === 'string' && /^unnamed portal parameter \$1 = /.test(where);
}

function assertOrderByReturned(source: PostgresRead, names: string[]): void {
  const missing = source.orderBy.filter((column) => !names.includes(column));
  if (missing.length === 0) return;
  const list = missing.map((c) => `"${c}"`).join(', ');
  throw new SourceUnavailableError(
    source.id,
    `Source "${source.id}": the orderBy column${missing.length > 1 ? `s ${list} are` : ` ${list} is`} not returned by its ${source.query ? 'query' : 'table'}.`,
  );
}

/**
 * Every column `include` or `exclude` names must be one the result returns: a query's columns are fixed,
 * so a name that matches none is a mistake, and in `exclude` a typo ("card_tokn") would export the very
 * column it was meant to keep out.
 */
function assertProjectionReturned(source: PostgresRead, names: string[]): void {
  for (const field of ['include', 'exclude'] as const) {
    const unknown = (source[field] ?? []).filter((column) => !names.includes(column));
    if (unknown.length > 0) {
      throw new SourceUnavailableError(
        source.id,
        `Source "${source.id}": its ${field} names ${unknown.map((c) => `"${c}"`).join(', ')}, which its ${source.query ? 'query' : 'table'} does not return (it returns ${names.map((c) => `"${c}"`).join(', ')}).`,
      );
    }
  }
}

/** A timeAttribute the result does not return would fail every ranged export; say so on any read. */
function assertTimeAttributeReturned(source: PostgresRead, names: string[]): void {
  if (source.timeAttribute === undefined || names.includes(source.timeAttribute)) return;
  throw new SourceUnavailableError(
    source.id,
    `Source "${source.id}": its timeAttribute "${source.timeAttribute}" is not returned by its ${source.query ? 'query' : 'table'} (it returns ${names.map((c) => `"${c}"`).join(', ')}).`,
  );
}

/** The columns the source's statement returns, read without running it for anyone (LIMIT 0, a NULL user). */
async function resultColumns(client: pg.ClientBase, source: PostgresRead): Promise<string[]> {
  await client.query('BEGIN TRANSACTION READ ONLY');
  try {
    const result = await client.query({ text: `SELECT * FROM (${baseQuery(source)}\n) AS page LIMIT 0`, values: [null], types: RAW_TEXT_TYPES });
    return result.fields.map((f) => f.name);
  } catch {
    return source.orderBy;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

/**
 * The page's rows as export JSON. The query fetched one row more than the page: it says whether another
 * page follows, and its repeated-key flag catches a key that is not unique across the page boundary.
 */
function toPage(source: PostgresRead, names: string[], kinds: { kind: ValueKind; declared: DeclaredType }[], rows: (string | null)[][], limit: number): PostgresPage {
  const exported = names
    .map((name, i) => ({ name, i, kind: kinds[i]?.kind ?? 'text', declared: kinds[i]?.declared ?? 'string' }))
    .filter(({ name }) => (source.include ? source.include.includes(name) : !source.exclude?.includes(name)));
  const keyAt = source.orderBy.map((column) => names.indexOf(column));
  const repeatedAt = names.length;
  for (const row of rows) {
    if (keyAt.some((i) => row[i] === null))
      throw new SourceUnavailableError(
        source.id,
        `Source "${source.id}" has a row whose orderBy (${source.orderBy.join(', ')}) is NULL; orderBy must name columns that are never NULL.`,
      );
    if (row[repeatedAt] === 't') {
      throw new SourceUnavailableError(
        source.id,
        `Source "${source.id}" has two rows with the same orderBy (${source.orderBy.join(', ')}); orderBy must name columns that together are unique.`,
      );
    }
  }
  const page = rows.slice(0, limit);
  const redaction = redactionFor(source.redact);
  let lines = '';
  const types: ColumnTypes = new Map();
  for (const row of page) {
    // No prototype: a column named __proto__ is a column like any other.
    const record = Object.create(null) as Record<string, unknown>;
    for (const column of exported) record[column.name] = exportValue(row[column.i] ?? null, column.kind);
    redaction?.apply(record);
    // After redaction: a column replaced whole holds text.
    for (const column of exported) learnType(types, column.name, redaction?.replacesWhole(column.name) ? 'string' : valueType(column.declared, record[column.name]));
    lines += JSON.stringify(record) + '\n';
  }
  const last = rows.length > limit ? page.at(-1) : undefined;
  return { lines, rows: page.length, columns: exported.map((c) => c.name), types, cursor: last ? JSON.stringify(keyAt.map((i) => last[i])) : null };
}
