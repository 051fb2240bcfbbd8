// DynamoDB values from wire to archive without loss. The collector writes each item as compact export
// JSON through the native serializer, numbers kept as their exact digits by JSON.rawJSON (binary as
// base64, sets as arrays): the form staging
// parts hold, one item per line, and the JSON files show. CSV rows are read off that text by csv-rows.ts;
// the CSV rules they share (formula guard, RFC 4180 quoting, column order) live here.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { binaryType, learnType, type ColumnType, type ColumnTypes } from './column-types.ts';
import type { Redaction } from './redaction.ts';

/** DynamoDB JSON as a seed file holds it: AttributeValue with binary as base64 text. */
export type WireValue =
  | { S: string }
  | { N: string }
  | { B: string }
  | { BOOL: boolean }
  | { NULL: true }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: string[] }
  | { L: WireValue[] }
  | { M: WireItem };
export type WireItem = Record<string, WireValue>;

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * A DynamoDB number's digits as a JSON number literal, without ever becoming a double.
 * DynamoDB already returns canonical text; this only repairs forms JSON does not allow (+1, 007, .5, 5.).
 */
export function toJsonNumber(text: string): string {
  const trimmed = text.trim();
  if (JSON_NUMBER.test(trimmed)) return trimmed;
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(trimmed);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) {
    throw new TypeError(`"${text}" is not a number`);
  }
  const sign = match[1] === '-' ? '-' : '';
  const integer = (match[2] ?? '').replace(/^0+(?=\d)/, '') || '0';
  const fraction = match[3] ?? '';
  const exponent = match[4] !== undefined ? `e${match[4]}` : '';
  return `${sign}${integer}${fraction ? `.${fraction}` : ''}${exponent}`;
}

/** A value as the SDK returns it (binary as bytes) or as a seed file holds it (binary as base64). */
type AnyValue = AttributeValue | WireValue;

const base64 = (bytes: Uint8Array | string) => (typeof bytes === 'string' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'));

/**
 * JSON.rawJSON (Node 22): a value that JSON.stringify writes as the given text. It is how a number
 * keeps every digit while the native serializer does the rest (escaping, nesting) — half again as fast
 * as building the text by hand, and faster than the SDK's unmarshall + stringify.
 */
const rawJson = (JSON as { rawJSON?: (text: string) => unknown }).rawJSON;

const exactNumber = (digits: string): unknown => {
  if (!rawJson) throw new Error('Writing DynamoDB numbers exactly needs JSON.rawJSON: run on Node.js 22 or later.');
  return rawJson(toJsonNumber(digits));
};

/** One value as what JSON.stringify writes as its export JSON: maps and lists nested, sets as arrays, numbers exact, binary as base64. */
function exportValue(value: AnyValue): unknown {
  const v = value as Partial<Record<'S' | 'N' | 'B' | 'BOOL' | 'NULL' | 'SS' | 'NS' | 'BS' | 'L' | 'M', unknown>>;
  if (v.S !== undefined) return v.S;
  if (v.N !== undefined) return exactNumber(v.N as string);
  if (v.B !== undefined) return base64(v.B as Uint8Array | string);
  if (v.BOOL !== undefined) return Boolean(v.BOOL);
  if (v.NULL !== undefined) return null;
  if (v.SS !== undefined) return v.SS;
  if (v.NS !== undefined) return (v.NS as string[]).map(exactNumber);
  if (v.BS !== undefined) return (v.BS as (Uint8Array | string)[]).map(base64);
  if (v.L !== undefined) return (v.L as AnyValue[]).map(exportValue);
  if (v.M !== undefined) return exportObject(v.M as Record<string, AnyValue>);
  throw new TypeError(`Unsupported DynamoDB value with type ${Object.keys(value).join(',')}`);
}

/**
 * A map's members in their order, as a plain object: items of one source share its shape, so V8 keeps
 * it a fast object and JSON.stringify takes its fast path (a prototype-less object was a third slower).
 * An attribute named "__proto__" is defined, not assigned, so it is a member like any other.
 */
function exportObject(item: Record<string, AnyValue>, columns?: ColumnTypes, redaction?: Redaction): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const name in item) {
    const value = item[name];
    if (value === undefined) continue;
    if (columns !== undefined) learnType(columns, name, redaction?.replacesWhole(name) ? 'string' : attributeType(value));
    if (name === '__proto__') Object.defineProperty(object, name, { value: exportValue(value), enumerable: true, writable: true, configurable: true });
    else object[name] = exportValue(value);
  }
  return object;
}

/**
 * The CSV cell type of a top-level attribute: sets and lists are arrays, maps objects (both JSON text in
 * the cell), NULL an empty cell. Checked in the order exportValue checks, the common types first.
 */
function attributeType(value: AnyValue): ColumnType {
  const v = value as Partial<Record<'S' | 'N' | 'B' | 'BOOL' | 'NULL' | 'SS' | 'NS' | 'BS' | 'L' | 'M', unknown>>;
  if (v.S !== undefined) return 'string';
  if (v.N !== undefined) return 'number';
  if (v.B !== undefined) return typeof v.B === 'string' ? binaryType(v.B) : firstByteType(v.B as Uint8Array);
  if (v.BOOL !== undefined) return 'boolean';
  if (v.NULL !== undefined) return 'null';
  if (v.M !== undefined) return 'object';
  return 'array';
}

/** Base64 starts with "+" exactly when the first byte's top six bits are 111110 (0xf8 to 0xfb). */
const firstByteType = (bytes: Uint8Array): ColumnType => (bytes.length > 0 && ((bytes[0] as number) & 0xfc) === 0xf8 ? 'string' : 'binary');

/** Export JSON text of one value. */
export function valueToJson(value: AnyValue): string {
  return JSON.stringify(exportValue(value));
}

/**
 * An item as one compact JSON object: the form staging parts hold (one per line) and the export's JSON
 * files show. `columns`, when given, learns the item's top-level attribute names and their cell types
 * (the CSV's columns and its Table Schema); `redaction` replaces other people's values
 * (values/redaction.ts) before the text exists, and a field it replaces whole is text.
 */
export function itemToJson(item: Record<string, AnyValue>, columns?: ColumnTypes, redaction?: Redaction): string {
  const record = exportObject(item, columns, redaction);
  redaction?.apply(record);
  return JSON.stringify(record);
}

/** Cells a spreadsheet would run as a formula start with one of these; we defuse them with a quote. */
const FORMULA_START = /^[=+\-@\t\r]/;

export function guardFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** RFC 4180: quote a field holding a comma, quote, CR or LF; double the quotes inside. */
export function quoteCsvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(cells: readonly string[]): string {
  return `${cells.join(',')}\r\n`;
}

export function csvHeader(columns: readonly string[]): string {
  return csvRow(columns.map((c) => quoteCsvField(guardFormula(c))));
}

/** Columns of a source's CSV: key attributes first, then every other attribute seen, sorted by name or in the order first seen. */
export function orderColumns(seen: Iterable<string>, keyAttributes: readonly string[], order: 'sorted' | 'as-read' = 'sorted'): string[] {
  const keys = keyAttributes.filter((k, i) => keyAttributes.indexOf(k) === i);
  const rest = [...new Set(seen)].filter((c) => !keys.includes(c));
  if (order === 'sorted') rest.sort();
  return [...keys, ...rest];
}

/** Applies the data map's include/exclude lists to a top-level item. */
export function projectItem<T>(item: Record<string, T>, rules: { include?: readonly string[]; exclude?: readonly string[] }): Record<string, T> {
  if (rules.include) {
    const kept: Record<string, T> = {};
    for (const name of rules.include) if (Object.hasOwn(item, name)) kept[name] = item[name] as T;
    return kept;
  }
  if (rules.exclude && rules.exclude.length > 0) {
    const kept: Record<string, T> = {};
    for (const [name, value] of Object.entries(item)) if (!rules.exclude.includes(name)) kept[name] = value;
    return kept;
  }
  return item;
}
