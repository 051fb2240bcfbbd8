// What kind of value each CSV column holds, as the collectors observe it while they stage records: the
// archive builder never parses a record, so datapackage.json's Table Schemas are made from these. A
// type names the cell as the CSV renders it, not the value as the store keeps it: a Postgres float
// that is Infinity renders as text, so that value is a "string" and its column ends up "any".

/**
 * `timestamp` is a datetime without a time zone in Postgres's text form ("2026-05-01 12:03:07"),
 * `binary` base64 text, `uuid` a UUID's text. `null` is a value that renders as an empty cell (DynamoDB
 * NULL, SQL NULL): Table Schema reads an empty cell as missing whatever the type, so it widens nothing.
 */
export const COLUMN_TYPES = ['string', 'binary', 'uuid', 'number', 'integer', 'boolean', 'object', 'array', 'datetime', 'timestamp', 'date', 'time', 'any', 'null'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** A source's columns and their types, in the order first seen (a Map keeps insertion order, names like "1" included). */
export type ColumnTypes = Map<string, ColumnType>;

const TEXT_FORMS = new Set<ColumnType>(['string', 'binary', 'uuid']);

/**
 * Two observations of one column, as the narrowest type every value of both is valid for: the same type
 * stays, a missing value widens nothing, text of different formats is plain text, an integer is a
 * number, and anything else mixed is "any".
 */
export function mergeTypes(a: ColumnType, b: ColumnType): ColumnType {
  if (a === b || b === 'null') return a;
  if (a === 'null') return b;
  if (TEXT_FORMS.has(a) && TEXT_FORMS.has(b)) return 'string';
  if ((a === 'integer' && b === 'number') || (a === 'number' && b === 'integer')) return 'number';
  return 'any';
}

/** Learns one value's type for a column. The usual case, a type already seen, is one Map lookup. */
export function learnType(columns: ColumnTypes, name: string, type: ColumnType): void {
  const seen = columns.get(name);
  if (seen === type || seen === 'any') return;
  columns.set(name, seen === undefined ? type : mergeTypes(seen, type));
}

/** Merges `from` into `into`, keeping `into`'s order and adding new columns at the end. */
export function mergeColumns(into: ColumnTypes, from: Iterable<readonly [string, ColumnType]>): ColumnTypes {
  for (const [name, type] of from) learnType(into, name, type);
  return into;
}

/** The staged form (a part's `.columns.json`): [name, type] pairs, because a JSON object would reorder keys like "1". */
export const stagedColumns = (columns: ColumnTypes): string => JSON.stringify([...columns]);

const KNOWN = new Set<string>(COLUMN_TYPES);

/** The staged pairs from their parsed JSON, or undefined when it is not that form (a part staged by another version: a list of names). */
export function parseStagedColumns(value: unknown): [string, ColumnType][] | undefined {
  if (!Array.isArray(value)) return undefined;
  const pairs: [string, ColumnType][] = [];
  for (const entry of value) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'string' || !KNOWN.has(entry[1])) return undefined;
    pairs.push([entry[0], entry[1] as ColumnType]);
  }
  return pairs;
}

// Lexical forms Table Schema's types take by default (specs.frictionlessdata.io/table-schema). A value
// whose text is not one of them is text in its column, however its store typed it.
const DATETIME = /^(?!0000)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$/;
const DATE = /^(?!0000)\d{4}-\d\d-\d\d$/;
const TIME = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?$/;
const TIMESTAMP = /^(?!0000)\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/;

/** A text value a store types as a date or time: that type when the text is its lexical form, else "string". */
export function temporalType(type: 'datetime' | 'timestamp' | 'date' | 'time', text: string): ColumnType {
  const form = type === 'datetime' ? DATETIME : type === 'date' ? DATE : type === 'time' ? TIME : TIMESTAMP;
  return form.test(text) ? type : 'string';
}

/**
 * Base64 text is a binary cell unless it starts with "+": the CSV's formula guard puts a quote before
 * that, and the cell is then no longer base64 (the JSON file keeps the value as it is).
 */
export const binaryType = (base64: string): ColumnType => (base64.charCodeAt(0) === 0x2b ? 'string' : 'binary');

/** The type of a plain JSON value (a record built in code, such as Cognito's). */
export function jsonValueType(value: unknown): ColumnType {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return Array.isArray(value) ? 'array' : 'object';
}
