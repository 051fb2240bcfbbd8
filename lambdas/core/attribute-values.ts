// DynamoDB values from wire to archive without loss. The collector writes each item as compact export
// JSON by hand (numbers as their exact digits, binary as base64, sets as arrays): the form staging
// parts hold, one item per line, and the JSON files show. CSV rows are read off that text by csv-rows.ts;
// the CSV rules they share (formula guard, RFC 4180 quoting, column order) live here.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

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

/** Export JSON text of one value: maps and lists nested, sets as arrays, numbers exact, binary as base64. */
export function valueToJson(value: AnyValue): string {
  const v = value as Partial<Record<'S' | 'N' | 'B' | 'BOOL' | 'NULL' | 'SS' | 'NS' | 'BS' | 'L' | 'M', unknown>>;
  if (v.S !== undefined) return JSON.stringify(v.S);
  if (v.N !== undefined) return toJsonNumber(v.N as string);
  if (v.B !== undefined) return JSON.stringify(base64(v.B as Uint8Array | string));
  if (v.BOOL !== undefined) return v.BOOL ? 'true' : 'false';
  if (v.NULL !== undefined) return 'null';
  if (v.SS !== undefined) return `[${(v.SS as string[]).map((s) => JSON.stringify(s)).join(',')}]`;
  if (v.NS !== undefined) return `[${(v.NS as string[]).map(toJsonNumber).join(',')}]`;
  if (v.BS !== undefined) return `[${(v.BS as (Uint8Array | string)[]).map((b) => JSON.stringify(base64(b))).join(',')}]`;
  if (v.L !== undefined) return `[${(v.L as AnyValue[]).map(valueToJson).join(',')}]`;
  if (v.M !== undefined) return itemToJson(v.M as Record<string, AnyValue>);
  throw new TypeError(`Unsupported DynamoDB value with type ${Object.keys(value).join(',')}`);
}

/** The `"name":` of a member, cached: the same few attribute names repeat on every item. */
const memberPrefixes = new Map<string, string>();
const memberPrefix = (name: string) => {
  let prefix = memberPrefixes.get(name);
  if (prefix === undefined) {
    prefix = `${JSON.stringify(name)}:`;
    if (memberPrefixes.size < 10_000) memberPrefixes.set(name, prefix);
  }
  return prefix;
};

/**
 * An item as one compact JSON object: the form staging parts hold (one per line) and the export's JSON
 * files show. `columns`, when given, learns the item's top-level attribute names (the CSV's columns).
 */
export function itemToJson(item: Record<string, AnyValue>, columns?: Set<string>): string {
  let text = '{';
  for (const name in item) {
    const value = item[name];
    if (value === undefined) continue;
    columns?.add(name);
    const s = (value as { S?: string }).S;
    text += `${text.length > 1 ? ',' : ''}${memberPrefix(name)}${s !== undefined ? JSON.stringify(s) : valueToJson(value)}`;
  }
  return `${text}}`;
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

/** Columns of a source's CSV: key attributes first, then every other attribute seen, sorted. */
export function orderColumns(seen: Iterable<string>, keyAttributes: readonly string[]): string[] {
  const keys = keyAttributes.filter((k, i) => keyAttributes.indexOf(k) === i);
  const rest = [...new Set(seen)].filter((c) => !keys.includes(c)).sort();
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
