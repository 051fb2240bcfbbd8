// docs/architecture.md, "The archive": CSV cells and headers are RFC 4180 with a spreadsheet formula guard, read
// back through a real CSV parser, and key attributes come first among the columns.
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvHeader, csvRow, itemToJson, orderColumns, valueToJson, type WireItem, type WireValue } from '../../lambdas/core/values/attribute-values.ts';
import { CsvRows } from '../../lambdas/core/archive/csv/csv-rows.ts';

/** CSV text of staged lines (export JSON objects), rendered as the bundler renders them. */
const renderCsv = (columns: string[], lines: string[]) => new CsvRows(columns).render(Buffer.from(lines.map((line) => `${line}\n`).join(''))).data.toString('utf8');

/** A value's CSV cell the way the bundler makes it: from the value's export JSON, as a one-column row. */
const valueToCsvCell = (value: WireValue | undefined) => renderCsv(['v'], [value === undefined ? '{}' : `{"v":${valueToJson(value)}}`]).slice(0, -2);

/** Parses CSV text the way a spreadsheet import would, keeping every cell as text. */
function parseCsv(text: string): string[][] {
  return parse(text);
}

/** The single cell a value becomes, read back through a real CSV parser. */
function cellRoundTrip(value: WireValue | undefined): string {
  const rows = parseCsv(csvRow([valueToCsvCell(value), 'end']));
  expect(rows).toHaveLength(1);
  const [row] = rows;
  expect(row).toHaveLength(2);
  expect(row?.[1]).toBe('end');
  return row?.[0] ?? '<missing>';
}

/** Whether the parser saw the first cell of a one-row CSV as quoted. */
function firstCellQuoted(line: string): boolean {
  let quoted: boolean | undefined;
  parse(line, {
    cast: (value, context) => {
      if (context.column === 0) quoted = context.quoting;
      return value;
    },
  });
  if (quoted === undefined) throw new Error('the parser saw no first cell');
  return quoted;
}

describe('CsvRows', () => {
  const item: WireItem = {
    'we"ird\\name': { S: 'a,"b"\nc' },
    n: { N: '-12345678901234567890123456789012345678' },
    m: { M: { s: { S: 'x,}]"' }, l: { L: [{ N: '1e3' }, { NULL: true }] } } },
    f: { S: '=cmd' },
    t: { BOOL: true },
    z: { NULL: true },
    e: { S: '' },
  };
  const columns = ['n', 'missing', 'we"ird\\name', 'm', 'f', 't', 'z', 'e'];
  const expected = ['-12345678901234567890123456789012345678', '', 'a,"b"\nc', '{"s":"x,}]\\"","l":[1e3,null]}', "'=cmd", 'true', '', ''];

  it('gives each column the cell of its value, exact digits and nested JSON included, blanks for the missing', () => {
    const row = renderCsv(columns, [itemToJson(item)]);
    expect(row).toBe(csvRow(columns.map((c) => valueToCsvCell(item[c]))));
    expect(parseCsv(row)).toEqual([expected]);
  });

  it('reuses what earlier rows taught it, and still notices members that moved or went missing', () => {
    const { t, ...withoutT } = item;
    const reordered: WireItem = { f: item.f ?? { NULL: true }, ...withoutT, t: t ?? { NULL: true } };
    const { n: _n, ...fewer } = item;
    const rows = parseCsv(renderCsv(columns, [itemToJson(item), itemToJson(reordered), itemToJson(fewer), itemToJson(item)]));
    expect(rows).toEqual([expected, expected, ['', ...expected.slice(1)], expected]);
  });

  it('renders a block of many rows, growing its buffer when quoting makes rows longer than their JSON', () => {
    const nested = { l: { L: Array.from({ length: 50 }, () => ({ S: '"' })) } };
    const lines = Array.from({ length: 300 }, (_, i) => itemToJson({ i: { N: String(i) }, ...nested }));
    const { data, records } = new CsvRows(['i', 'l']).render(Buffer.from(lines.map((line) => `${line}\n`).join('')));
    expect(records).toBe(300);
    const rows = parseCsv(data.toString('utf8'));
    expect(rows).toHaveLength(300);
    expect(rows[299]).toEqual(['299', JSON.stringify(Array.from({ length: 50 }, () => '"'))]);
  });

  it('keeps multi-byte characters and escapes exact', () => {
    const text = 'Grüße 👋, "quoted" \u0000 \ud800 tab\t';
    expect(parseCsv(renderCsv(['s', 'u'], [itemToJson({ s: { S: text }, u: { S: 'naïve 🚗' } })]))).toEqual([[text.replace('\ud800', '\ufffd'), 'naïve 🚗']]);
  });

  it('refuses an attribute that is not a column (columns come from the collector, so this is a bug, not data)', () => {
    expect(() => renderCsv(['b'], ['{"a":1}'])).toThrow(TypeError);
  });

  it.each([
    ['not an object', '[1,2]'],
    ['a truncated string', '{"a":"abc}'],
    ['a truncated nested value', '{"a":[1,{"b":2}}'],
  ])('refuses a staged line that is %s, instead of reading past it', (_, line) => {
    expect(() => renderCsv(['a', 'b'], [line])).toThrow(TypeError);
  });

  it('refuses lines that end without a newline', () => {
    expect(() => new CsvRows(['a']).render(Buffer.from('{"a":1}'))).toThrow(/middle of a record/);
  });
});

describe('valueToCsvCell', () => {
  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\tcmd', '=HYPERLINK("http://x")'])('prefixes the string %j with a quote', (text) => {
    expect(cellRoundTrip({ S: text })).toBe(`'${text}`);
  });

  it('prefixes a string starting with CR and quotes the cell because it holds a CR', () => {
    expect(valueToCsvCell({ S: '\rcmd' })).toBe('"\'\rcmd"');
    expect(cellRoundTrip({ S: '\rcmd' })).toBe("'\rcmd");
  });

  it('leaves strings that do not start with a formula character untouched', () => {
    expect(cellRoundTrip({ S: 'a=b' })).toBe('a=b');
    expect(cellRoundTrip({ S: 'Grüße 👋' })).toBe('Grüße 👋');
    expect(valueToCsvCell({ S: 'plain' })).toBe('plain');
  });

  it('applies the formula guard to base64 binary that starts with "+"', () => {
    expect(cellRoundTrip({ B: '+/8=' })).toBe("'+/8=");
  });

  it('does not prefix negative numbers, and writes their exact digits', () => {
    expect(valueToCsvCell({ N: '-5' })).toBe('-5');
    expect(cellRoundTrip({ N: '-12345678901234567890123456789012345678' })).toBe('-12345678901234567890123456789012345678');
    expect(valueToCsvCell({ N: '+7' })).toBe('7');
  });

  it('writes the empty string as a quoted empty cell and NULL or missing as a bare empty cell', () => {
    expect(valueToCsvCell({ S: '' })).toBe('""');
    expect(valueToCsvCell({ NULL: true })).toBe('');
    expect(valueToCsvCell(undefined)).toBe('');
    expect(firstCellQuoted(csvRow([valueToCsvCell({ S: '' }), 'x']))).toBe(true);
    expect(firstCellQuoted(csvRow([valueToCsvCell({ NULL: true }), 'x']))).toBe(false);
    expect(cellRoundTrip({ S: '' })).toBe('');
    expect(cellRoundTrip(undefined)).toBe('');
  });

  it('quotes commas, quotes, CR and LF per RFC 4180', () => {
    expect(valueToCsvCell({ S: 'a,b' })).toBe('"a,b"');
    expect(valueToCsvCell({ S: 'say "hi"' })).toBe('"say ""hi"""');
    expect(valueToCsvCell({ S: 'line1\nline2' })).toBe('"line1\nline2"');
    expect(valueToCsvCell({ S: 'a\r\nb' })).toBe('"a\r\nb"');
    for (const text of ['a,b', 'say "hi"', 'line1\nline2', 'a\r\nb', '"', ',,,', 'x"\r\n"y']) {
      expect(cellRoundTrip({ S: text }), JSON.stringify(text)).toBe(text);
    }
  });

  it('guards and quotes a formula that also holds a comma and quotes', () => {
    expect(valueToCsvCell({ S: '=IF(A1,"y","n")' })).toBe('"\'=IF(A1,""y"",""n"")"');
    expect(cellRoundTrip({ S: '=IF(A1,"y","n")' })).toBe('\'=IF(A1,"y","n")');
  });

  it('writes booleans as true and false', () => {
    expect(valueToCsvCell({ BOOL: true })).toBe('true');
    expect(valueToCsvCell({ BOOL: false })).toBe('false');
  });

  it('writes nested values and sets as their JSON text in one cell', () => {
    const map: WireValue = { M: { a: { N: '1.50' }, b: { L: [{ S: 'x,y' }, { NULL: true }] } } };
    expect(cellRoundTrip(map)).toBe('{"a":1.50,"b":["x,y",null]}');
    expect(cellRoundTrip({ SS: ['=a', 'b'] })).toBe('["=a","b"]');
    expect(cellRoundTrip({ NS: ['-1', '2'] })).toBe('[-1,2]');
    expect(cellRoundTrip({ L: [] })).toBe('[]');
  });

  it('produces a whole row that parses back to the exact cells', () => {
    const values: (WireValue | undefined)[] = [{ S: 'u-1' }, { N: '-3.25' }, { S: '-3.25' }, { S: '' }, undefined, { S: 'a,"b"\nc' }, { BOOL: false }];
    const row = csvRow(values.map(valueToCsvCell));
    expect(row.endsWith('\r\n')).toBe(true);
    expect(parseCsv(row)).toEqual([['u-1', '-3.25', "'-3.25", '', '', 'a,"b"\nc', 'false']]);
  });
});

describe('csvHeader', () => {
  it('guards and quotes attribute names', () => {
    const header = csvHeader(['userId', 'a,b', 'say "x"', '=cmd', '-neg']);
    expect(header).toBe('userId,"a,b","say ""x""",\'=cmd,\'-neg\r\n');
    expect(parseCsv(header)).toEqual([['userId', 'a,b', 'say "x"', "'=cmd", "'-neg"]]);
  });
});

describe('orderColumns', () => {
  it('puts key attributes first in their order, then the rest sorted, with no duplicates', () => {
    expect(orderColumns(['zeta', 'sk', 'alpha', 'userId', 'alpha', 'Beta'], ['userId', 'sk'])).toEqual(['userId', 'sk', 'Beta', 'alpha', 'zeta']);
  });

  it('lists a key attribute once even when the key list repeats it', () => {
    expect(orderColumns(['pk', 'b', 'a'], ['pk', 'pk'])).toEqual(['pk', 'a', 'b']);
  });

  it('accepts any iterable of seen names', () => {
    expect(orderColumns(new Set(['c', 'pk', 'a']), ['pk'])).toEqual(['pk', 'a', 'c']);
  });
});
