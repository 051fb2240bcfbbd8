// docs/architecture.md, "The archive": values leave DynamoDB as export JSON without loss (exact number digits,
// base64 binary, nested maps and lists), with only the attributes the data map's include/exclude rules keep.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { ColumnTypes } from '../../lambdas/core/values/column-types.ts';
import { itemToJson, projectItem, toJsonNumber, valueToJson, type WireItem, type WireValue } from '../../lambdas/core/values/attribute-values.ts';

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
    const columns: ColumnTypes = new Map();
    const line = itemToJson(item, columns);
    expect(line).not.toContain('\n');
    expect(line).toBe('{"id":"u-1","amount":12345678901234567890123456789012345678,"avatar":"AAEC/w==","keys":["AQ==","AgM="],"nested":{"raw":"aGk=","list":[-0.5]}}');
    expect([...columns]).toEqual([
      ['id', 'string'],
      ['amount', 'number'],
      ['avatar', 'binary'],
      ['keys', 'array'],
      ['nested', 'object'],
    ]);
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
