// PostgreSQL values from wire to archive without loss. The driver hands every column over as
// Postgres's own text form (no parsing in between, so nothing passes through a double), and each
// column's type decides its export JSON: numbers with every digit, floats in their shortest
// round-trip form, bytea as base64, json nested, arrays as arrays, timestamptz as ISO 8601 UTC with
// microseconds, date as YYYY-MM-DD, NULL as null, and anything else as Postgres writes it.

/** How a column's text becomes a JSON value: decided once per type, from pg_type. */
export type ValueKind = 'boolean' | 'number' | 'float' | 'bytea' | 'json' | 'timestamptz' | 'date' | 'text' | { array: ValueKind; delimiter: string };

/** A type as pg_type describes it: what the collector reads for each column type of a result. */
export interface PgTypeRow {
  oid: number;
  typname: string;
  typcategory: string;
  typelem: number;
  typdelim: string;
  typbasetype: number;
}

/** The session settings the text forms below rely on, set in every read transaction. */
export const SESSION_SETTINGS = {
  TimeZone: 'UTC',
  DateStyle: 'ISO, YMD',
  IntervalStyle: 'postgres',
  // Postgres 12 and later write the shortest text that reads back as the same float when this is above 0.
  extra_float_digits: '1',
  bytea_output: 'hex',
  // money's text follows lc_monetary: pinned, so the same amount reads the same on every server.
  lc_monetary: 'C',
} as const;

const BASE_KINDS: Record<string, ValueKind> = {
  bool: 'boolean',
  int2: 'number',
  int4: 'number',
  int8: 'number',
  oid: 'number',
  numeric: 'number',
  float4: 'float',
  float8: 'float',
  bytea: 'bytea',
  json: 'json',
  jsonb: 'json',
  timestamptz: 'timestamptz',
  date: 'date',
};

/** The kind of each type, domains resolved to their base type and arrays to their element's kind. */
export function valueKinds(types: PgTypeRow[]): Map<number, ValueKind> {
  const byOid = new Map(types.map((t) => [t.oid, t]));
  const kinds = new Map<number, ValueKind>();
  const kindOf = (oid: number, depth = 0): ValueKind => {
    const type = byOid.get(oid);
    if (!type || depth > 16) return 'text';
    if (type.typbasetype !== 0) return kindOf(type.typbasetype, depth + 1);
    // int2vector and oidvector are arrays to pg_type but write themselves as "1 2 3": their text form stands.
    if (type.typname === 'int2vector' || type.typname === 'oidvector') return 'text';
    if (type.typcategory === 'A' && type.typelem !== 0) return { array: kindOf(type.typelem, depth + 1), delimiter: byOid.get(type.typelem)?.typdelim ?? ',' };
    return BASE_KINDS[type.typname] ?? 'text';
  };
  for (const type of types) kinds.set(type.oid, kindOf(type.oid));
  return kinds;
}

const rawJson = (JSON as { rawJSON?: (text: string) => unknown }).rawJSON;

function exactNumber(text: string): unknown {
  if (!rawJson) throw new Error('Writing PostgreSQL numbers exactly needs JSON.rawJSON: run on Node.js 22 or later.');
  return rawJson(text);
}

/** A number Postgres wrote, as a JSON number with its digits; NaN and the infinities have no JSON number and stay text. */
function numberValue(text: string): unknown {
  return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text) ? exactNumber(text) : text;
}

/** JSON text with every number kept as written (JSON.parse's source text, Node 22). */
function nestedJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => (typeof value === 'number' && context?.source ? exactNumber(context.source) : value));
}

/** "2024-05-01 12:30:00.5+00" (DateStyle ISO, TimeZone UTC) → "2024-05-01T12:30:00.500000Z"; infinity and BC years as ISO 8601 allows. */
function timestamptzValue(text: string): string {
  const match = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?\+00( BC)?$/.exec(text);
  if (!match) return text;
  const [, year = '', month, day, hour, minute, second, fraction = '', bc] = match;
  return `${isoYear(Number(year), Boolean(bc))}-${month}-${day}T${hour}:${minute}:${second}.${fraction.padEnd(6, '0')}Z`;
}

/** A date Postgres wrote (DateStyle ISO): already YYYY-MM-DD, unless BC or beyond year 9999. */
function dateValue(text: string): string {
  const match = /^(\d{4,})-(\d\d)-(\d\d)( BC)?$/.exec(text);
  if (!match) return text;
  const [, year = '', month, day, bc] = match;
  return `${isoYear(Number(year), Boolean(bc))}-${month}-${day}`;
}

/** ISO 8601 years: 1 BC is 0000, 2 BC is -0001; beyond four digits the expanded form with its sign. */
function isoYear(year: number, bc: boolean): string {
  const astronomical = bc ? 1 - year : year;
  if (astronomical >= 0 && astronomical <= 9999) return String(astronomical).padStart(4, '0');
  return `${astronomical < 0 ? '-' : '+'}${String(Math.abs(astronomical)).padStart(6, '0')}`;
}

/** "\x00ff" → "AP8=". */
function byteaValue(text: string): string {
  if (!text.startsWith('\\x')) throw new TypeError('bytea arrived in escape format; the session sets bytea_output to hex');
  return Buffer.from(text.slice(2), 'hex').toString('base64');
}

/** One column's text as its export JSON value. */
export function exportValue(text: string | null, kind: ValueKind): unknown {
  if (text === null) return null;
  if (typeof kind === 'object')
    return parseArray(text, kind.delimiter).map(function element(item): unknown {
      return Array.isArray(item) ? item.map(element) : exportValue(item, kind.array);
    });
  switch (kind) {
    case 'boolean':
      return text === 't';
    case 'number':
    case 'float':
      return numberValue(text);
    case 'bytea':
      return byteaValue(text);
    case 'json':
      return nestedJson(text);
    case 'timestamptz':
      return timestamptzValue(text);
    case 'date':
      return dateValue(text);
    case 'text':
      return text;
  }
}

type ArrayItem = string | null | ArrayItem[];

/**
 * An array literal as Postgres writes it: `{1,NULL,"a \"b\""}`, nested braces for more dimensions,
 * and a `[1:3]=` prefix when the lower bound is not 1 (the bounds are not part of the value).
 */
export function parseArray(text: string, delimiter = ','): ArrayItem[] {
  let at = text.startsWith('[') ? text.indexOf('=') + 1 : 0;
  const fail = (why: string): never => {
    throw new TypeError(`Not a PostgreSQL array literal (${why} at ${at}): ${text.slice(0, 80)}`);
  };
  const list = (): ArrayItem[] => {
    if (text[at] !== '{') fail('expected "{"');
    at += 1;
    const items: ArrayItem[] = [];
    if (text[at] === '}') {
      at += 1;
      return items;
    }
    for (;;) {
      if (text[at] === '{') items.push(list());
      else if (text[at] === '"') {
        let value = '';
        for (at += 1; text[at] !== '"'; at += 1) {
          if (at >= text.length) fail('unterminated quote');
          if (text[at] === '\\') at += 1;
          value += text[at];
        }
        at += 1;
        items.push(value);
      } else {
        const start = at;
        while (at < text.length && text[at] !== delimiter && text[at] !== '}') at += 1;
        const bare = text.slice(start, at).trim();
        items.push(bare.toUpperCase() === 'NULL' ? null : bare);
      }
      if (text[at] === delimiter) at += 1;
      else if (text[at] === '}') {
        at += 1;
        return items;
      } else fail('expected a delimiter or "}"');
    }
  };
  const result = list();
  if (at !== text.length) fail('trailing text');
  return result;
}
