// Reading one user's rows of a PostgreSQL source: keyset pages in `orderBy` order (never OFFSET), in a
// READ ONLY transaction with a statement timeout, the user id always a bind parameter. Each page comes
// back as export-JSON lines (postgres-values.ts) with the cursor of its last row.
import type pg from 'pg';
import { exportValue, SESSION_SETTINGS, valueKinds, type PgTypeRow, type ValueKind } from './postgres-values.ts';

/** What a read needs of a source: a table and its user column, or a query with `:userId`; an order that is unique. */
export interface PostgresRead {
  id: string;
  table?: string;
  userColumn?: string;
  query?: string;
  orderBy: string[];
  include?: string[];
  exclude?: string[];
}

export interface PostgresPage {
  /** One export-JSON object per row, each ending in "\n". */
  lines: string;
  rows: number;
  /** The columns of the export, in the result's order. */
  columns: string[];
  /** Where the next page starts; null when this page was the last. */
  cursor: string | null;
}

/** A read that cannot go on as asked (a user-store problem, named for the data map's author). */
export class PostgresReadError extends Error {
  override name = 'PostgresReadError';
}

/** Every value as Postgres's text: the mapping to JSON is ours, per column type, never the driver's. */
export const RAW_TEXT_TYPES = { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig;

/** `"orders"`, `"public"."orders"`: identifiers quoted, quotes inside doubled. */
export function quoteIdentifier(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replaceAll('"', '""')}"`)
    .join('.');
}

/** The source's rows of one user, before paging: `$1` is the user id. */
export function baseQuery(source: PostgresRead): string {
  if (source.query !== undefined) return source.query.replace(/(?<!:):userId\b/g, '$1');
  if (source.table === undefined || source.userColumn === undefined) throw new PostgresReadError(`Source "${source.id}" needs "table" and "userColumn", or a "query".`);
  return `SELECT * FROM ${quoteIdentifier(source.table)} WHERE ${quoteIdentifier(source.userColumn)} = $1`;
}

/** The page statement: the base query's rows after the cursor, in order, at most `limit`. */
export function pageQuery(source: PostgresRead, afterCursor: boolean, limit: number): string {
  const order = source.orderBy.map((column) => `page.${quoteIdentifier(column)}`);
  const after = afterCursor ? ` WHERE (${order.join(', ')}) > (${source.orderBy.map((_, i) => `$${i + 2}`).join(', ')})` : '';
  return `SELECT * FROM (${baseQuery(source)}) AS page${after} ORDER BY ${order.join(', ')} LIMIT ${Math.floor(limit)}`;
}

const TYPES_QUERY = `WITH RECURSIVE t AS (
  SELECT oid, typname, typcategory, typelem, typdelim, typbasetype FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])
  UNION SELECT p.oid, p.typname, p.typcategory, p.typelem, p.typdelim, p.typbasetype FROM pg_catalog.pg_type p JOIN t ON p.oid = t.typelem OR p.oid = t.typbasetype
) SELECT oid, typname, typcategory, typelem, typdelim, typbasetype FROM t`;

async function kindsOf(client: pg.ClientBase, oids: number[]): Promise<Map<number, ValueKind>> {
  const result = await client.query<Record<keyof PgTypeRow, string>>(TYPES_QUERY, [`{${[...new Set(oids)].join(',')}}`]);
  return valueKinds(
    result.rows.map((r) => ({
      oid: Number(r.oid),
      typname: r.typname,
      typcategory: r.typcategory,
      typelem: Number(r.typelem),
      typdelim: r.typdelim,
      typbasetype: Number(r.typbasetype),
    })),
  );
}

/**
 * One page of the user's rows, in its own READ ONLY transaction (nothing this reads can write, even a
 * query that calls a function with side effects), cut off by `statementTimeoutMs`.
 */
export async function readPostgresPage(
  client: pg.ClientBase,
  source: PostgresRead,
  request: { userId: string; cursor: string | null; limit: number; statementTimeoutMs: number },
): Promise<PostgresPage> {
  const after = request.cursor === null ? [] : (JSON.parse(request.cursor) as string[]);
  await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
  try {
    const settings = { ...SESSION_SETTINGS, statement_timeout: String(Math.max(1, Math.floor(request.statementTimeoutMs))) };
    for (const [name, value] of Object.entries(settings)) await client.query('SELECT pg_catalog.set_config($1, $2, true)', [name, value]);
    const result = await client.query<unknown[]>({ text: pageQuery(source, after.length > 0, request.limit), values: [request.userId, ...after], rowMode: 'array' });
    const names = result.fields.map((f) => f.name);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate !== undefined) throw new PostgresReadError(`Source "${source.id}" returns two columns named "${duplicate}"; give each a name of its own with AS.`);
    const missing = source.orderBy.filter((column) => !names.includes(column));
    if (missing.length > 0)
      throw new PostgresReadError(
        `Source "${source.id}": the orderBy column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not returned by its ${source.query ? 'query' : 'table'}.`,
      );
    const kinds = await kindsOf(
      client,
      result.fields.map((f) => f.dataTypeID),
    );
    await client.query('COMMIT');
    return toPage(
      source,
      names,
      result.fields.map((f) => kinds.get(f.dataTypeID) ?? 'text'),
      result.rows as (string | null)[][],
      after,
      request.limit,
    );
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function toPage(source: PostgresRead, names: string[], kinds: ValueKind[], rows: (string | null)[][], after: string[], limit: number): PostgresPage {
  const exported = names
    .map((name, i) => ({ name, i, kind: kinds[i] ?? 'text' }))
    .filter(({ name }) => (source.include ? source.include.includes(name) : !source.exclude?.includes(name)));
  const keyAt = source.orderBy.map((column) => names.indexOf(column));
  let previous: (string | null)[] | undefined = after.length > 0 ? after : undefined;
  let lines = '';
  for (const row of rows) {
    const key = keyAt.map((i) => row[i] ?? null);
    if (key.some((value) => value === null))
      throw new PostgresReadError(`Source "${source.id}" has a row whose orderBy (${source.orderBy.join(', ')}) is NULL; orderBy must name columns that are never NULL.`);
    if (previous && key.every((value, i) => value === previous?.[i])) {
      throw new PostgresReadError(`Source "${source.id}" has two rows with the same orderBy (${source.orderBy.join(', ')}); orderBy must name columns that together are unique.`);
    }
    previous = key;
    const record: Record<string, unknown> = {};
    for (const column of exported) record[column.name] = exportValue(row[column.i] ?? null, column.kind);
    lines += JSON.stringify(record) + '\n';
  }
  const last = rows.length === limit ? rows.at(-1) : undefined;
  return { lines, rows: rows.length, columns: exported.map((c) => c.name), cursor: last ? JSON.stringify(keyAt.map((i) => last[i])) : null };
}
