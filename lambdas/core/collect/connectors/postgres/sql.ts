// The SQL a PostgreSQL source runs: its rows of one user (a table's user column, or the data map's
// query with `:userId` bound as $1), and the keyset page over them. Identifiers are always quoted, the
// user id and the cursor are always parameters, and the page says for each row whether its key equals
// the previous row's by the column types' own equality (2.0 = 2.00, citext), so a key that is not
// unique is found even where its text differs.
import { SourceUnavailableError } from '../../../platform/errors.ts';

export interface PostgresQuerySource {
  id: string;
  table?: string;
  userColumn?: string;
  query?: string;
  orderBy: string[];
  timeAttribute?: string;
}

/** A date range's bounds, both inclusive, as ISO 8601 text. */
export interface Bounds {
  since?: string | null;
  until?: string | null;
}

/** The range's parameters, after the user id: since, then until, each only when given. */
export function rangeValues(range: Bounds | null | undefined): string[] {
  return [range?.since, range?.until].filter((v): v is string => typeof v === 'string');
}

/** The column the page adds to tell a repeated key; never exported. */
export const REPEATED_KEY_COLUMN = '__user_data_export_repeated_key';

/** A column name, quoted whole, quotes inside doubled. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A table name: `orders`, or `sales.orders` with its schema. */
export function quoteTable(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? quoteIdentifier(name) : `${quoteIdentifier(name.slice(0, dot))}.${quoteIdentifier(name.slice(dot + 1))}`;
}

/**
 * The query with every `:userId` outside string literals, quoted identifiers and comments replaced by
 * `$1`, and no trailing semicolon. Placeholders are found by a scan of the SQL, never by a pattern
 * that would also rewrite the text `':userId'` inside a literal.
 */
export function bindUserId(sourceId: string, sql: string): string {
  let out = '';
  let found = 0;
  let at = 0;
  const closing = (end: string, from: number, backslashes = false) => {
    for (let i = from; i < sql.length; i += 1) {
      if (backslashes && sql[i] === '\\') i += 1;
      else if (sql.startsWith(end, i)) {
        // '' and "" inside a literal or identifier are the quote itself.
        if ((end === "'" || end === '"') && sql[i + 1] === end) i += 1;
        else return i + end.length;
      }
    }
    throw new SourceUnavailableError(
      sourceId,
      `Source "${sourceId}": its query has an unterminated ${end === "'" ? 'string literal' : end === '"' ? 'quoted identifier' : end === '*/' ? 'comment' : 'dollar-quoted string'}.`,
    );
  };
  while (at < sql.length) {
    const rest = sql.slice(at);
    let end: number | undefined;
    if (rest.startsWith('--')) end = sql.indexOf('\n', at) < 0 ? sql.length : sql.indexOf('\n', at);
    else if (rest.startsWith('/*')) end = closing('*/', at + 2);
    else if (/^[eE]'/.test(rest)) end = closing("'", at + 2, true);
    else if (rest.startsWith("'")) end = closing("'", at + 1);
    else if (rest.startsWith('"')) end = closing('"', at + 1);
    else {
      const dollar = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(rest);
      if (dollar) end = closing(dollar[0], at + dollar[0].length);
      else if (/^:userId(?![A-Za-z0-9_])/.test(rest) && sql[at - 1] !== ':') {
        out += '$1';
        found += 1;
        at += ':userId'.length;
        continue;
      }
    }
    const next = end ?? at + 1;
    out += sql.slice(at, next);
    at = next;
  }
  if (found === 0) throw new SourceUnavailableError(sourceId, `Source "${sourceId}": its query must contain :userId, or every user would read the same rows.`);
  return out.replace(/[\s;]+$/, '');
}

/**
 * The source's rows of one user, before paging: `$1` is the user id, and a date range on its
 * timeAttribute takes `$2` (and `$3`), always parameters, compared as the column's own type compares
 * (timestamptz, date or text), the bounds inclusive.
 */
export function baseQuery(source: PostgresQuerySource, range?: Bounds | null): string {
  let rows: string;
  if (source.query !== undefined) rows = bindUserId(source.id, source.query);
  else if (source.table === undefined || source.userColumn === undefined)
    throw new SourceUnavailableError(source.id, `Source "${source.id}" needs "table" and "userColumn", or a "query".`);
  else rows = `SELECT * FROM ${quoteTable(source.table)} WHERE ${quoteIdentifier(source.userColumn)} = $1`;
  if (source.timeAttribute === undefined || rangeValues(range).length === 0) return rows;
  const column = `ranged.${quoteIdentifier(source.timeAttribute)}`;
  const since = typeof range?.since === 'string';
  const conditions = [...(since ? [`${column} >= $2`] : []), ...(typeof range?.until === 'string' ? [`${column} <= $${since ? 3 : 2}`] : [])];
  return `SELECT ranged.* FROM (${rows}\n) AS ranged WHERE ${conditions.join(' AND ')}`;
}

/**
 * The page statement: the rows after the cursor in key order, NULL keys first (so one is seen and
 * refused, never skipped), `limit` of them plus one more to tell whether another page follows and
 * whether its first key repeats this page's last.
 */
export function pageQuery(source: PostgresQuerySource, afterCursor: boolean, limit: number, range?: Bounds | null): string {
  const keys = source.orderBy.map((column) => `page.${quoteIdentifier(column)}`);
  const first = 2 + rangeValues(range).length;
  const after = afterCursor ? ` WHERE (${keys.join(', ')}) > (${source.orderBy.map((_, i) => `$${i + first}`).join(', ')})` : '';
  const repeated = keys.map((key) => `${key} = lag(${key}) OVER w`).join(' AND ');
  return (
    `SELECT page.*, (${repeated}) AS ${quoteIdentifier(REPEATED_KEY_COLUMN)} FROM (${baseQuery(source, range)}\n) AS page${after}` +
    ` WINDOW w AS (ORDER BY ${keys.map((k) => `${k} NULLS FIRST`).join(', ')}) ORDER BY ${keys.map((k) => `${k} NULLS FIRST`).join(', ')} LIMIT ${Math.floor(limit) + 1}`
  );
}
