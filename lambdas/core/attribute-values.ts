// DynamoDB values from wire to archive without loss. Staging parts hold items as DynamoDB JSON
// ("wire items": numbers stay strings, binary is base64), so JSON.parse can never round a number.
// From there we write export JSON by hand (numbers as their exact digits) and CSV cells.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** DynamoDB JSON as stored in staging parts: AttributeValue with binary as base64 text. */
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

/** One line of a staging part: the SDK's item with binary turned into base64. */
export function wireItemToLine(item: Record<string, AttributeValue>): string {
  // Most items hold no binary: then the native stringify, with no JavaScript called per value.
  if (!hasBinary(item)) return JSON.stringify(item);
  // The replacer looks at the holder's raw value: a Buffer's toJSON would otherwise have turned it into
  // {"type":"Buffer","data":[…]} before the replacer saw it.
  return JSON.stringify(item, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return raw instanceof Uint8Array ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') : value;
  });
}

function hasBinary(item: Record<string, AttributeValue>): boolean {
  for (const key in item) {
    const value = item[key];
    if (value === undefined || value.S !== undefined || value.N !== undefined) continue;
    if (value.B !== undefined || value.BS !== undefined) return true;
    if (value.M !== undefined && hasBinary(value.M)) return true;
    if (value.L !== undefined && value.L.some((v) => hasBinary({ v }))) return true;
  }
  return false;
}

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

/** Export JSON text of one value: maps and lists nested, sets as arrays, numbers exact. */
export function valueToJson(value: WireValue): string {
  if ('S' in value) return JSON.stringify(value.S);
  if ('N' in value) return toJsonNumber(value.N);
  if ('B' in value) return JSON.stringify(value.B);
  if ('BOOL' in value) return value.BOOL ? 'true' : 'false';
  if ('NULL' in value) return 'null';
  if ('SS' in value) return `[${value.SS.map((s) => JSON.stringify(s)).join(',')}]`;
  if ('NS' in value) return `[${value.NS.map(toJsonNumber).join(',')}]`;
  if ('BS' in value) return `[${value.BS.map((b) => JSON.stringify(b)).join(',')}]`;
  if ('L' in value) return `[${value.L.map(valueToJson).join(',')}]`;
  if ('M' in value) return itemToJson(value.M);
  throw new TypeError(`Unsupported DynamoDB value with type ${Object.keys(value).join(',')}`);
}

export function itemToJson(item: WireItem): string {
  const fields = Object.entries(item).map(([name, value]) => `${JSON.stringify(name)}:${valueToJson(value)}`);
  return `{${fields.join(',')}}`;
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

/**
 * A CSV cell. Strings (and base64 binary, which is text too) get the formula guard; numbers keep their
 * sign; nested values are their JSON text. A missing attribute or NULL is an empty cell, while an empty
 * string is written as "" so the two stay distinguishable.
 */
export function valueToCsvCell(value: WireValue | undefined): string {
  if (value === undefined || 'NULL' in value) return '';
  if ('S' in value) return value.S === '' ? '""' : quoteCsvField(guardFormula(value.S));
  if ('B' in value) return value.B === '' ? '""' : quoteCsvField(guardFormula(value.B));
  if ('N' in value) return toJsonNumber(value.N);
  if ('BOOL' in value) return value.BOOL ? 'true' : 'false';
  return quoteCsvField(valueToJson(value));
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
