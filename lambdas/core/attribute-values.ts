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

/**
 * The CSV cell of one value, from its export JSON text. Strings (and base64 binary, which is text too)
 * get the formula guard; numbers keep their exact digits and sign; nested values are their JSON text. A
 * missing attribute or null is an empty cell, while an empty string is written as "" so the two stay
 * distinguishable.
 */
export function csvCellFromJson(raw: string | undefined): string {
  if (raw === undefined || raw === 'null') return '';
  const first = raw.charCodeAt(0);
  if (first === QUOTE) return stringCell(raw, 0, raw.length - 1);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) return quoteCsvField(raw);
  return raw;
}

/** The cell of the JSON string between the quotes at `open` and `close` of `json`. */
function stringCell(json: string, open: number, close: number): string {
  if (close === open + 1) return '""';
  const body = json.slice(open + 1, close);
  // Without a backslash the JSON text is the string itself, and it holds no quote, CR or LF (JSON
  // escapes those): only a comma needs quoting, and only =, +, - and @ can start a formula.
  if (!body.includes('\\')) {
    const start = body.charCodeAt(0);
    const guarded = start === 61 || start === 43 || start === 45 || start === 64 ? `'${body}` : body;
    return guarded.includes(',') ? `"${guarded}"` : guarded;
  }
  return quoteCsvField(guardFormula(JSON.parse(json.slice(open, close + 1)) as string));
}

/**
 * Reads CSV rows off items' compact JSON (as itemToJson writes it), in the order of `columns`. It takes
 * the top-level members' raw text without parsing the values, so numbers keep every digit and nested
 * values their exact JSON. Items of one source mostly have the same attributes in the same order, so it
 * remembers the last row's members and checks them in place before looking a name up.
 */
export class CsvRowReader {
  private readonly index: Map<string, number>;
  private readonly cells: string[];
  /** Per member position of the last row: its `"name":` text and column. */
  private members: { prefix: string; column: number }[] = [];

  constructor(private readonly columns: readonly string[]) {
    this.index = new Map(columns.map((name, i) => [name, i]));
    this.cells = new Array<string>(columns.length);
  }

  row(json: string): string {
    const cells = this.cells.fill('');
    const end = json.length - 1;
    let i = 1;
    for (let position = 0; i < end; position += 1) {
      const known = this.members[position];
      let column: number;
      if (known !== undefined && json.startsWith(known.prefix, i)) {
        column = known.column;
        i += known.prefix.length;
      } else {
        const nameEnd = stringEnd(json, i);
        const nameText = json.slice(i + 1, nameEnd);
        const name = nameText.includes('\\') ? (JSON.parse(json.slice(i, nameEnd + 1)) as string) : nameText;
        const found = this.index.get(name);
        if (found === undefined) throw new TypeError(`Attribute "${name}" is not one of the CSV's columns`);
        column = found;
        this.members[position] = { prefix: json.slice(i, nameEnd + 2), column };
        i = nameEnd + 2;
      }
      const first = json.charCodeAt(i);
      let valueEnd: number;
      if (first === QUOTE) {
        valueEnd = stringEnd(json, i) + 1;
        cells[column] = stringCell(json, i, valueEnd - 1);
      } else {
        if (first === OPEN_BRACE || first === OPEN_BRACKET) valueEnd = nestedEnd(json, i);
        else {
          valueEnd = json.indexOf(',', i);
          if (valueEnd === -1 || valueEnd > end) valueEnd = end;
        }
        cells[column] = csvCellFromJson(json.slice(i, valueEnd));
      }
      i = valueEnd + 1;
    }
    return `${cells.join(',')}\r\n`;
  }
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const OPEN_BRACKET = 91;
const CLOSE_BRACE = 125;
const CLOSE_BRACKET = 93;

/** Index of the quote that closes the JSON string opening at `start`. */
function stringEnd(json: string, start: number): number {
  let at = start;
  for (;;) {
    at = json.indexOf('"', at + 1);
    if (at === -1) throw new TypeError('Unterminated string in staged JSON');
    let backslashes = 0;
    while (json.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return at;
  }
}

/** Index just past the object or array opening at `start`. */
function nestedEnd(json: string, start: number): number {
  let depth = 0;
  for (let at = start; at < json.length; at += 1) {
    const c = json.charCodeAt(at);
    if (c === QUOTE) at = stringEnd(json, at);
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth += 1;
    else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) return at + 1;
  }
  throw new TypeError('Unterminated value in staged JSON');
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
