// CSV rows straight from staged export-JSON lines, byte for byte. The archive builder renders every record of a
// source this way, so the work is done on the bytes as read: no decoding to strings, no string per cell,
// nothing for the garbage collector but one output buffer per block. Values are never parsed: numbers
// keep every digit, nested maps and lists their exact JSON text. Only a string holding a JSON escape
// takes the slow road (decoded, then guarded and quoted as text).
import { guardFormula, quoteCsvField } from '../../values/attribute-values.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const APOSTROPHE = 0x27;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
/** First characters a spreadsheet runs as a formula (tab and CR are always escaped in JSON text). */
const EQUALS = 0x3d;
const PLUS = 0x2b;
const MINUS = 0x2d;
const AT = 0x40;

// What a column's cell is in the row being read.
/** Not in the record, or null: an empty cell. */
const MISSING = 0;
/** "": a quoted empty cell, so it differs from a missing value. */
const EMPTY_TEXT = 1;
/** A string without escapes: its bytes, guarded and quoted as needed. */
const TEXT = 2;
/** A number or boolean: its bytes as they are. */
const LITERAL = 3;
/** A map, list or set: its JSON text as one cell. */
const NESTED = 4;
/** A string with escapes: decoded, guarded and quoted as text, its bytes held in `decoded`. */
const DECODED = 5;

const TEXT_GUARD = 1;
const TEXT_QUOTE = 2;

/** A source of output buffers that takes back the ones it gave. */
export interface OutputBuffers {
  take(bytes: number): Buffer;
  give(buffer: Buffer): void;
}

/**
 * Renders newline-terminated lines of compact export JSON (one object per line, as the collector
 * stages them) as CSV rows in the order of `columns`. Items of one source mostly have the same members
 * in the same order, so it remembers each position's `"name":` bytes and checks them in place before
 * decoding a name.
 */
export class CsvRows {
  private readonly index: Map<string, number>;
  private readonly kinds: Uint8Array;
  private readonly flags: Uint8Array;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly decoded: (Buffer | undefined)[];
  /** Per member position of the last rows: its `"name":` bytes and column. */
  private readonly prefixes: Uint8Array[] = [];
  private readonly prefixColumns: number[] = [];
  private out: Buffer = Buffer.alloc(0);
  private at = 0;

  /** `buffers`: where output buffers come from and go back to when outgrown (by default, new ones). */
  constructor(
    private readonly columns: readonly string[],
    private readonly buffers: OutputBuffers = { take: (bytes) => Buffer.allocUnsafe(bytes), give: () => undefined },
  ) {
    this.index = new Map(columns.map((name, i) => [name, i]));
    this.kinds = new Uint8Array(columns.length);
    this.flags = new Uint8Array(columns.length);
    this.starts = new Int32Array(columns.length);
    this.ends = new Int32Array(columns.length);
    this.decoded = new Array<Buffer | undefined>(columns.length);
  }

  /**
   * The CSV rows of every line in `lines` (which ends with a newline), and how many there were. `data`
   * is a view of a buffer taken from `buffers`, for the caller to give back.
   */
  render(lines: Uint8Array): { data: Buffer; records: number } {
    // Rows are shorter than their JSON but for quoting: start at the input's size and grow if needed.
    this.out = this.buffers.take(lines.length + 1024);
    this.at = 0;
    let records = 0;
    for (let start = 0; start < lines.length; records += 1) {
      const newline = lines.indexOf(NEWLINE, start);
      if (newline === -1) throw new TypeError('Staged JSON lines end in the middle of a record');
      this.row(lines, start, newline);
      start = newline + 1;
    }
    return { data: this.out.subarray(0, this.at), records };
  }

  private row(b: Uint8Array, start: number, newline: number): void {
    const end = newline - 1;
    if (b[start] !== OPEN_BRACE || b[end] !== CLOSE_BRACE) throw new TypeError('A staged line is not a JSON object');
    const { kinds, flags, starts, ends } = this;
    kinds.fill(MISSING);
    let i = start + 1;
    for (let position = 0; i < end; position += 1) {
      const column = this.member(b, i, end, position);
      i += (this.prefixes[position] as Uint8Array).length;
      const first = b[i];
      if (first === QUOTE) {
        const j = this.stringEnd(b, i, end);
        if (this.escaped) {
          kinds[column] = DECODED;
          const text = JSON.parse(Buffer.from(b.buffer, b.byteOffset + i, j + 1 - i).toString('utf8')) as string;
          this.decoded[column] = Buffer.from(quoteCsvField(guardFormula(text)), 'utf8');
        } else if (j === i + 1) kinds[column] = EMPTY_TEXT;
        else {
          kinds[column] = TEXT;
          const c = b[i + 1];
          flags[column] = (c === EQUALS || c === PLUS || c === MINUS || c === AT ? TEXT_GUARD : 0) | (this.comma ? TEXT_QUOTE : 0);
        }
        starts[column] = i + 1;
        ends[column] = j;
        i = j + 2;
      } else if (first === OPEN_BRACE || first === OPEN_BRACKET) {
        const j = nestedEnd(b, i, end);
        kinds[column] = NESTED;
        starts[column] = i;
        ends[column] = j;
        i = j + 1;
      } else {
        let j = i;
        while (j < end && b[j] !== COMMA) j += 1;
        // null is as empty as a missing attribute.
        const isNull = j - i === 4 && first === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c;
        kinds[column] = isNull ? MISSING : LITERAL;
        starts[column] = i;
        ends[column] = j;
        i = j + 1;
      }
    }
    this.emit(b, newline - start);
  }

  /** The column of the member whose name starts at `i`; the position's prefix is then its `"name":`. */
  private member(b: Uint8Array, i: number, end: number, position: number): number {
    const known = this.prefixes[position];
    if (known !== undefined && startsWith(b, i, known)) return this.prefixColumns[position] as number;
    if (b[i] !== QUOTE) throw new TypeError('A staged line is not a JSON object');
    const j = this.stringEnd(b, i, end);
    const text = Buffer.from(b.buffer, b.byteOffset + i, j + 1 - i).toString('utf8');
    const name = this.escaped ? (JSON.parse(text) as string) : text.slice(1, -1);
    const column = this.index.get(name);
    if (column === undefined) throw new TypeError(`Attribute "${name}" is not one of the CSV's columns`);
    this.prefixes[position] = b.slice(i, j + 2);
    this.prefixColumns[position] = column;
    return column;
  }

  /** What the last stringEnd() saw inside the string: a backslash escape, a comma. */
  private escaped = false;
  private comma = false;

  /** Index of the quote that closes the JSON string opening at `i` (before `end`). */
  private stringEnd(b: Uint8Array, i: number, end: number): number {
    let j = i + 1;
    let escaped = false;
    let comma = false;
    for (let c = b[j]; c !== QUOTE; c = b[j]) {
      if (j >= end) throw new TypeError('Unterminated string in a staged line');
      if (c === BACKSLASH) {
        escaped = true;
        j += 2;
      } else {
        if (c === COMMA) comma = true;
        j += 1;
      }
    }
    this.escaped = escaped;
    this.comma = comma;
    return j;
  }

  /**
   * Writes the row read into the cells: columns in order, commas between, CRLF after. A row takes at
   * most twice its line (nested JSON's quotes doubled) plus a guard and two quotes per column: a JSON
   * escape is never shorter than what it decodes to.
   */
  private emit(b: Uint8Array, lineLength: number): void {
    this.reserve(2 * lineLength + 3 * this.columns.length + 2);
    const { kinds, flags, starts, ends } = this;
    const out = this.out;
    let at = this.at;
    for (let column = 0; column < kinds.length; column += 1) {
      if (column > 0) out[at++] = COMMA;
      switch (kinds[column]) {
        case MISSING:
          break;
        case EMPTY_TEXT:
          out[at++] = QUOTE;
          out[at++] = QUOTE;
          break;
        case TEXT: {
          const flag = flags[column] as number;
          if (flag & TEXT_QUOTE) out[at++] = QUOTE;
          if (flag & TEXT_GUARD) out[at++] = APOSTROPHE;
          at = copy(b, starts[column] as number, ends[column] as number, out, at);
          if (flag & TEXT_QUOTE) out[at++] = QUOTE;
          break;
        }
        case LITERAL:
          at = copy(b, starts[column] as number, ends[column] as number, out, at);
          break;
        case NESTED:
          at = nestedCell(b, starts[column] as number, ends[column] as number, out, at);
          break;
        case DECODED:
          at += (this.decoded[column] as Buffer).copy(out, at);
          break;
      }
    }
    out[at++] = CARRIAGE_RETURN;
    out[at++] = NEWLINE;
    this.at = at;
  }

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.out.length) return;
    const grown = this.buffers.take(Math.max(2 * this.out.length, this.at + bytes));
    this.out.copy(grown, 0, 0, this.at);
    this.buffers.give(this.out);
    this.out = grown;
  }
}

function startsWith(b: Uint8Array, at: number, prefix: Uint8Array): boolean {
  for (let k = 0; k < prefix.length; k += 1) if (b[at + k] !== prefix[k]) return false;
  return true;
}

/** Index just past the object or array opening at `start`, strings (and their escapes) skipped. */
function nestedEnd(b: Uint8Array, start: number, end: number): number {
  let depth = 0;
  for (let at = start; at < end; at += 1) {
    const c = b[at];
    if (c === QUOTE) {
      for (at += 1; b[at] !== QUOTE; at += b[at] === BACKSLASH ? 2 : 1) if (at >= end) throw new TypeError('Unterminated string in a staged line');
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth += 1;
    else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) return at + 1;
  }
  throw new TypeError('Unterminated value in a staged line');
}

function copy(from: Uint8Array, start: number, end: number, to: Uint8Array, at: number): number {
  for (let k = start; k < end; k += 1) to[at++] = from[k] as number;
  return at;
}

/** Nested JSON as one cell: quoted when it holds a comma or a quote (each quote doubled), as RFC 4180 says. */
function nestedCell(from: Uint8Array, start: number, end: number, to: Uint8Array, at: number): number {
  let plain = true;
  for (let k = start; k < end && plain; k += 1) plain = from[k] !== COMMA && from[k] !== QUOTE;
  if (plain) return copy(from, start, end, to, at);
  to[at++] = QUOTE;
  for (let k = start; k < end; k += 1) {
    const c = from[k] as number;
    to[at++] = c;
    if (c === QUOTE) to[at++] = QUOTE;
  }
  to[at++] = QUOTE;
  return at;
}
