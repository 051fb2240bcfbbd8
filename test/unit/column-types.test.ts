// The types collectors learn for each CSV column as they stage records, and how they merge.
import { describe, expect, it } from 'vitest';
import { itemToJson } from '../../lambdas/core/values/attribute-values.ts';
import { learnType, mergeColumns, mergeTypes, parseStagedColumns, stagedColumns, temporalType, type ColumnTypes } from '../../lambdas/core/values/column-types.ts';
import { declaredTypes, valueType } from '../../lambdas/core/collect/connectors/postgres/field-types.ts';
import { exportValue, valueKinds, type PgTypeRow } from '../../lambdas/core/collect/connectors/postgres/values.ts';

describe('merging column types', () => {
  it('keeps a type seen twice, ignores missing values, widens text formats and numbers, and makes anything else mixed "any"', () => {
    expect(mergeTypes('number', 'number')).toBe('number');
    expect(mergeTypes('null', 'boolean')).toBe('boolean');
    expect(mergeTypes('datetime', 'null')).toBe('datetime');
    expect(mergeTypes('binary', 'string')).toBe('string');
    expect(mergeTypes('uuid', 'binary')).toBe('string');
    expect(mergeTypes('integer', 'number')).toBe('number');
    expect(mergeTypes('number', 'string')).toBe('any');
    expect(mergeTypes('object', 'array')).toBe('any');
    expect(mergeTypes('datetime', 'timestamp')).toBe('any');
    expect(mergeTypes('any', 'null')).toBe('any');
  });

  it('keeps the order columns were first seen, names that look like numbers included, through the staged form', () => {
    const columns: ColumnTypes = new Map();
    for (const [name, type] of [
      ['z', 'string'],
      ['1', 'number'],
      ['a', 'null'],
      ['1', 'string'],
      ['a', 'boolean'],
    ] as const)
      learnType(columns, name, type);
    const staged = JSON.parse(stagedColumns(columns)) as unknown;
    expect(staged).toEqual([
      ['z', 'string'],
      ['1', 'any'],
      ['a', 'boolean'],
    ]);
    const merged = mergeColumns(new Map([['a', 'string']]), parseStagedColumns(staged) ?? []);
    expect([...merged]).toEqual([
      ['a', 'any'],
      ['z', 'string'],
      ['1', 'any'],
    ]);
  });

  it('does not read a column list of another version (names without types) or an unknown type', () => {
    expect(parseStagedColumns(['userId', 'eventId'])).toBeUndefined();
    expect(parseStagedColumns([['userId', 'text']])).toBeUndefined();
    expect(parseStagedColumns({ userId: 'string' })).toBeUndefined();
    expect(parseStagedColumns([])).toEqual([]);
  });

  it('takes a date or time only in the lexical form Table Schema reads by default', () => {
    expect(temporalType('datetime', '2026-05-01T12:03:07.123456Z')).toBe('datetime');
    expect(temporalType('datetime', 'infinity')).toBe('string');
    expect(temporalType('datetime', '+010000-01-01T00:00:00.000000Z')).toBe('string');
    expect(temporalType('datetime', '0000-01-01T00:00:00.000000Z')).toBe('string');
    expect(temporalType('date', '2026-06-15')).toBe('date');
    expect(temporalType('time', '24:00:00')).toBe('string');
    expect(temporalType('timestamp', '2026-05-01 12:03:07.5')).toBe('timestamp');
  });
});

describe('DynamoDB items', () => {
  it('learns each attribute’s type, mixed types as "any", NULL as a missing value, and binary that the formula guard would change as text', () => {
    const columns: ColumnTypes = new Map();
    itemToJson(
      { id: { S: 'a' }, n: { N: '1' }, mixed: { N: '2' }, nul: { NULL: true }, b: { B: new Uint8Array([1, 2]) }, set: { SS: ['x'] }, m: { M: {} }, ok: { BOOL: true } },
      columns,
    );
    itemToJson({ id: { S: 'b' }, n: { NULL: true }, mixed: { S: '2' }, b: { B: new Uint8Array([0xf8, 1]) }, set: { L: [] }, plus: { B: '+AAA' } }, columns);
    expect(Object.fromEntries(columns)).toEqual({ id: 'string', n: 'number', mixed: 'any', nul: 'null', b: 'string', set: 'array', m: 'object', ok: 'boolean', plus: 'string' });
    expect(itemToJson({ b: { B: new Uint8Array([0xf8]) } })).toBe('{"b":"+A=="}');
  });
});

describe('PostgreSQL columns', () => {
  const types: PgTypeRow[] = [
    ['int8', 'N'],
    ['numeric', 'N'],
    ['float8', 'N'],
    ['bool', 'B'],
    ['timestamptz', 'D'],
    ['timestamp', 'D'],
    ['jsonb', 'U'],
    ['bytea', 'U'],
    ['uuid', 'U'],
    ['interval', 'T'],
  ].map(([typname, typcategory], i) => ({ oid: i + 1, typname: typname as string, typcategory: typcategory as string, typelem: 0, typdelim: ',', typbasetype: 0 }));
  types.push({ oid: 100, typname: '_int8', typcategory: 'A', typelem: 1, typdelim: ',', typbasetype: 0 });
  types.push({ oid: 101, typname: 'money_domain', typcategory: 'N', typelem: 0, typdelim: ',', typbasetype: 1 });
  const declared = declaredTypes(types);
  const kinds = valueKinds(types);
  const typeOf = (oid: number, text: string | null) => valueType(declared.get(oid) ?? 'string', exportValue(text, kinds.get(oid) ?? 'text'));

  it('types each value by its column’s type, as its cell reads', () => {
    expect(typeOf(1, '9007199254740993')).toBe('integer');
    expect(typeOf(101, '12')).toBe('integer');
    expect(typeOf(2, '1.500')).toBe('number');
    expect(typeOf(4, 't')).toBe('boolean');
    expect(typeOf(5, '2026-05-01 12:03:07.123456+00')).toBe('datetime');
    expect(typeOf(6, '2026-05-01 12:03:07')).toBe('timestamp');
    expect(typeOf(7, '{"a":1}')).toBe('object');
    expect(typeOf(7, '[1]')).toBe('array');
    expect(typeOf(7, '1')).toBe('any');
    expect(typeOf(8, '\\x00ff')).toBe('binary');
    expect(typeOf(9, '00000000-0000-4000-8000-000000000001')).toBe('uuid');
    expect(typeOf(10, '1 day')).toBe('string');
    expect(typeOf(100, '{1,2}')).toBe('array');
    expect(typeOf(1, null)).toBe('null');
  });

  it('keeps NaN a number (Table Schema has the token) and makes ±Infinity and infinite timestamps text', () => {
    expect(typeOf(3, 'NaN')).toBe('number');
    expect(typeOf(3, 'Infinity')).toBe('string');
    expect(typeOf(2, '-Infinity')).toBe('string');
    expect(typeOf(5, 'infinity')).toBe('string');
    expect(typeOf(8, '\\xf8')).toBe('string');
  });
});
