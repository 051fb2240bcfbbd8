// docs/architecture.md, "The archive": values leave DynamoDB without loss (exact number digits, base64 binary,
// nested maps and lists) and CSV cells are RFC 4180 with a spreadsheet formula guard.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvHeader, csvRow, itemToJson, orderColumns, projectItem, toJsonNumber, valueToJson, type WireItem, type WireValue } from '../../lambdas/core/values/attribute-values.ts';
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

describe('toJsonNumber', () => {
  it('keeps a 38-significant-digit number digit for digit', () => {
    const digits = '12345678901234567890123456789012345678';
    expect(toJsonNumber(digits)).toBe(digits);
    expect(toJsonNumber(`-${digits}`)).toBe(`-${digits}`);
    expect(toJsonNumber('0.12345678901234567890123456789012345678')).toBe('0.12345678901234567890123456789012345678');
  });

  it('keeps numbers a double would round, such as 2^53 + 1 and 0.1 with 38 digits', () => {
    expect(toJsonNumber('9007199254740993')).toBe('9007199254740993');
    expect(toJsonNumber('0.1000000000000000000000000000000000000001')).toBe('0.1000000000000000000000000000000000000001');
  });

  it('keeps negative numbers, zero and decimals unchanged', () => {
    expect(toJsonNumber('-42')).toBe('-42');
    expect(toJsonNumber('-0.5')).toBe('-0.5');
    expect(toJsonNumber('0')).toBe('0');
    expect(toJsonNumber('3.14')).toBe('3.14');
  });

  it('keeps exponent forms that JSON allows', () => {
    expect(toJsonNumber('1E+130')).toBe('1E+130');
    expect(toJsonNumber('1e-130')).toBe('1e-130');
    expect(toJsonNumber('-9.9999999999999999999999999999999999999E+125')).toBe('-9.9999999999999999999999999999999999999E+125');
  });

  it('repairs forms JSON does not allow without changing the value', () => {
    expect(toJsonNumber('+1')).toBe('1');
    expect(toJsonNumber('007')).toBe('7');
    expect(toJsonNumber('-007.50')).toBe('-7.50');
    expect(toJsonNumber('00')).toBe('0');
    expect(toJsonNumber('.5')).toBe('0.5');
    expect(toJsonNumber('-.5')).toBe('-0.5');
    expect(toJsonNumber('5.')).toBe('5');
    expect(toJsonNumber('+5.e3')).toBe('5e3');
  });

  it('returns text that JSON.parse accepts for every repaired form', () => {
    for (const text of ['+1', '007', '.5', '5.', '-.5e-3', '+0.0']) {
      const repaired = toJsonNumber(text);
      expect(typeof JSON.parse(repaired), text).toBe('number');
      expect(Number(repaired), text).toBe(Number(text));
    }
  });

  it.each(['', ' ', 'abc', '.', '-', '+', 'e5', '1e', '1.2.3', '--1', 'NaN', 'Infinity', '0x10', '1_000', '1,5', '1 2'])('refuses %j as not a number', (text) => {
    expect(() => toJsonNumber(text)).toThrow(TypeError);
    expect(() => toJsonNumber(text)).toThrow(`"${text}" is not a number`);
  });
});

describe('valueToJson / itemToJson', () => {
  it('writes strings with unicode, quotes, backslashes, NUL and control characters as parseable JSON', () => {
    const text = 'Grüße 👋 "quoted" \\ back\u0000nul\ttab\nline\u2028sep';
    const json = valueToJson({ S: text });
    expect(JSON.parse(json)).toBe(text);
  });

  it('keeps a lone surrogate as an escape that parses back to the same string', () => {
    const text = 'a\ud800b\udc00c';
    const json = valueToJson({ S: text });
    expect(json).toBe('"a\\ud800b\\udc00c"');
    expect(JSON.parse(json)).toBe(text);
  });

  it('writes the empty string as ""', () => {
    expect(valueToJson({ S: '' })).toBe('""');
  });

  it('writes numbers as JSON numbers with the digits verbatim in the text', () => {
    const digits = '-1234567890.1234567890123456789012345678';
    const json = valueToJson({ N: digits });
    expect(json).toBe(digits);
    expect(typeof JSON.parse(json)).toBe('number');
  });

  it('writes binary as its base64 string', () => {
    expect(valueToJson({ B: 'AAEC/w==' })).toBe('"AAEC/w=="');
  });

  it('writes booleans and NULL as JSON literals', () => {
    expect(valueToJson({ BOOL: true })).toBe('true');
    expect(valueToJson({ BOOL: false })).toBe('false');
    expect(valueToJson({ NULL: true })).toBe('null');
  });

  it('writes string, number and binary sets as arrays', () => {
    expect(JSON.parse(valueToJson({ SS: ['a', 'b"c', ''] }))).toEqual(['a', 'b"c', '']);
    const ns = valueToJson({ NS: ['1', '-2.5', '12345678901234567890123456789012345678'] });
    expect(ns).toBe('[1,-2.5,12345678901234567890123456789012345678]');
    expect(JSON.parse(valueToJson({ BS: ['AA==', 'AQI='] }))).toEqual(['AA==', 'AQI=']);
  });

  it('keeps lists and maps nested, numbers inside them exact', () => {
    const value: WireValue = {
      L: [{ N: '98765432109876543210987654321098765432' }, { M: { inner: { L: [{ S: 'x' }, { NULL: true }, { BOOL: false }] } } }, { L: [] }, { M: {} }],
    };
    const json = valueToJson(value);
    expect(json).toBe('[98765432109876543210987654321098765432,{"inner":["x",null,false]},[],{}]');
    expect(JSON.parse(json)).toEqual([Number('98765432109876543210987654321098765432'), { inner: ['x', null, false] }, [], {}]);
  });

  it('writes an item with every DynamoDB type as one parseable JSON object', () => {
    const item: WireItem = {
      userId: { S: 'u-1' },
      price: { N: '12345678901234567890.123456789012345678' },
      photo: { B: 'iVBORw0KGgo=' },
      active: { BOOL: true },
      nickname: { NULL: true },
      tags: { SS: ['suv', 'diesel'] },
      scores: { NS: ['1', '2.50'] },
      blobs: { BS: ['AA=='] },
      history: { L: [{ S: 'viewed' }, { N: '-3' }] },
      address: { M: { city: { S: 'Köln' }, zip: { S: '50667' } } },
      empty: { S: '' },
      'we"ird,name': { S: 'ok' },
    };
    const json = itemToJson(item);
    expect(json).toContain('"price":12345678901234567890.123456789012345678');
    expect(json).toContain('"scores":[1,2.50]');
    expect(JSON.parse(json)).toEqual({
      userId: 'u-1',
      price: Number('12345678901234567890.123456789012345678'),
      photo: 'iVBORw0KGgo=',
      active: true,
      nickname: null,
      tags: ['suv', 'diesel'],
      scores: [1, 2.5],
      blobs: ['AA=='],
      history: ['viewed', -3],
      address: { city: 'Köln', zip: '50667' },
      empty: '',
      'we"ird,name': 'ok',
    });
  });

  it('writes an empty item as {}', () => {
    expect(itemToJson({})).toBe('{}');
  });

  it('refuses a value of an unknown type', () => {
    expect(() => valueToJson({ X: '1' } as unknown as WireValue)).toThrow(TypeError);
  });
});

describe('itemToJson of SDK values (the staged form)', () => {
  it('turns binary into base64 and keeps number digits and nested values', () => {
    const item: Record<string, AttributeValue> = {
      id: { S: 'u-1' },
      amount: { N: '12345678901234567890123456789012345678' },
      avatar: { B: new Uint8Array([0, 1, 2, 255]) },
      keys: { BS: [new Uint8Array([1]), new Uint8Array([2, 3])] },
      nested: { M: { raw: { B: new Uint8Array([104, 105]) }, list: { L: [{ N: '-0.5' }] } } },
    };
    const columns = new Set<string>();
    const line = itemToJson(item, columns);
    expect(line).not.toContain('\n');
    expect(line).toBe('{"id":"u-1","amount":12345678901234567890123456789012345678,"avatar":"AAEC/w==","keys":["AQ==","AgM="],"nested":{"raw":"aGk=","list":[-0.5]}}');
    expect([...columns]).toEqual(['id', 'amount', 'avatar', 'keys', 'nested']);
  });

  it('encodes only the viewed bytes of a Uint8Array that is a window on a larger buffer', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    expect(itemToJson({ b: { B: backing.subarray(2, 5) } })).toBe(`{"b":"${Buffer.from([1, 2, 3]).toString('base64')}"}`);
  });

  it('gives the same text for an SDK item and its seed (wire) form', () => {
    expect(itemToJson({ b: { B: Buffer.from([1, 2, 3]) } })).toBe(itemToJson({ b: { B: 'AQID' } }));
  });

  it('keeps attributes named like object internals as ordinary members, nested ones too', () => {
    // As a DynamoDB response or a seed file is parsed: "__proto__" becomes an own key.
    const item = JSON.parse('{"__proto__":{"S":"x"},"constructor":{"N":"1"},"m":{"M":{"__proto__":{"NS":["1.50"]}}}}') as Record<string, AttributeValue>;
    const json = itemToJson(item);
    expect(json).toBe('{"__proto__":"x","constructor":1,"m":{"__proto__":[1.50]}}');
    expect(Object.keys(JSON.parse(json) as object)).toEqual(['__proto__', 'constructor', 'm']);
  });
});

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

describe('projectItem', () => {
  const item = { userId: { S: 'u-1' }, email: { S: 'a@example.com' }, passwordHash: { S: 'x' }, mfaSecret: { S: 'y' } };

  it('keeps only the included attributes that exist', () => {
    expect(projectItem(item, { include: ['userId', 'email', 'absent'] })).toEqual({ userId: { S: 'u-1' }, email: { S: 'a@example.com' } });
  });

  it('drops the excluded attributes and keeps the rest', () => {
    expect(projectItem(item, { exclude: ['passwordHash', 'mfaSecret'] })).toEqual({ userId: { S: 'u-1' }, email: { S: 'a@example.com' } });
  });

  it('returns every attribute without rules or with an empty exclude list', () => {
    expect(projectItem(item, {})).toEqual(item);
    expect(projectItem(item, { exclude: [] })).toEqual(item);
  });

  it('does not modify the item it was given', () => {
    const copy = structuredClone(item);
    projectItem(item, { exclude: ['email'] });
    projectItem(item, { include: ['email'] });
    expect(item).toEqual(copy);
  });
});
