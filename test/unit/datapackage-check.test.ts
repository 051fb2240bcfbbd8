// The datapackage.json checker that the archive verifier and the tests rely on: it must refuse what the
// Frictionless specs refuse, or a wrong datapackage.json would pass them.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cellProblem } from '../../local/table-schema-cells.ts';
import { csvProblems, profileProblems, resourceProblems, type Datapackage, type Resource } from '../../local/datapackage-check.ts';

const valid = (type: string, cells: string[], format?: string) => cells.filter((cell) => cellProblem({ name: 'x', type, format }, cell) !== undefined);
const invalid = (type: string, cells: string[], format?: string) => cells.filter((cell) => cellProblem({ name: 'x', type, format }, cell) === undefined);

describe('Table Schema cells', () => {
  it('numbers: decimals, exponents and NaN/INF, never Infinity, a guarded minus or grouping', () => {
    expect(valid('number', ['-42.75', '1e+100', '12345678901234567890.123456789012345678', '+1', '5.', 'NaN', 'INF', '-inf'])).toEqual([]);
    expect(invalid('number', ['Infinity', "'-Infinity", '1,000', '0x10', '1.2.3', 'e5', ' 1'])).toEqual([]);
  });

  it('integers, booleans and the string formats', () => {
    expect(valid('integer', ['-9223372036854775808', '0', '+7'])).toEqual([]);
    expect(invalid('integer', ['1.0', '1e3', 'NaN'])).toEqual([]);
    expect(valid('boolean', ['true', 'FALSE', '1', '0'])).toEqual([]);
    expect(invalid('boolean', ['yes', 't', 'tRue'])).toEqual([]);
    expect(valid('string', ['AP8Q', 'AAEC/w==', ''], 'binary')).toEqual([]);
    expect(invalid('string', ["'+AAA", 'abc', 'AP8Q='], 'binary')).toEqual([]);
    expect(valid('string', ['00000000-0000-4000-8000-000000000001'], 'uuid')).toEqual([]);
    expect(invalid('string', ['00000000-0000-4000-8000-00000000000'], 'uuid')).toEqual([]);
  });

  it('dates and times in the default form, and a datetime of format any with a space', () => {
    expect(valid('datetime', ['2026-05-01T12:03:07.123456Z', '2026-05-01T12:03:07', '2024-02-29T00:00:00+01:00'])).toEqual([]);
    expect(invalid('datetime', ['2026-05-01 12:03:07', '2026-02-30T00:00:00Z', '0000-01-01T00:00:00Z', 'infinity', '+010000-01-01T00:00:00Z', '2026-05-01T24:00:00Z'])).toEqual([]);
    expect(valid('datetime', ['2026-05-01 12:03:07', '2026-05-01 12:03:07.5', '2026-05-01T12:03:07Z'], 'any')).toEqual([]);
    expect(invalid('datetime', ['2026-05-01 12:03:07 BC', 'infinity'], 'any')).toEqual([]);
    expect(valid('date', ['2026-06-15'])).toEqual([]);
    expect(invalid('date', ['2026-13-01', '2026-06-15T00:00:00Z'])).toEqual([]);
    expect(valid('time', ['12:30:00', '12:30:00.5'])).toEqual([]);
    expect(invalid('time', ['24:00:00', '12:30'])).toEqual([]);
  });

  it('objects and arrays as JSON text, and no pass for a type it does not know', () => {
    expect(valid('object', ['{"a":[1]}', '{}'])).toEqual([]);
    expect(invalid('object', ['[1]', 'null', '{bad', '"{}"'])).toEqual([]);
    expect(valid('array', ['[]', '[{"a":1}]'])).toEqual([]);
    expect(invalid('array', ['{}', '1'])).toEqual([]);
    expect(valid('any', ['whatever'])).toEqual([]);
    expect(cellProblem({ name: 'x', type: 'geopoint' }, '1,2')).toMatch(/does not know/);
    expect(cellProblem({ name: 'x', type: 'string', format: 'email' }, 'a@b.c')).toMatch(/does not know/);
  });
});

const table: Resource = {
  name: 'a.csv',
  path: 'a.csv',
  profile: 'tabular-data-resource',
  dialect: { delimiter: ',', lineTerminator: '\r\n', quoteChar: '"', doubleQuote: true, byteOrderMark: true },
  schema: {
    fields: [
      { name: 'id', type: 'string' },
      { name: 'n', type: 'number' },
    ],
    missingValues: [''],
  },
};

describe('CSV files against their resource', () => {
  it('passes a file whose mark, header and cells are as described, missing values included', () => {
    expect(csvProblems(table, Buffer.from('\ufeffid,n\r\na,1.5\r\nb,\r\n'))).toEqual([]);
  });

  it('finds a wrong cell, a header out of order, a missing mark and another line terminator', () => {
    expect(csvProblems(table, Buffer.from('\ufeffid,n\r\na,abc\r\n'))).toEqual(['a.csv row 1: field "n" (number): "abc" is not such a value']);
    expect(csvProblems(table, Buffer.from('\ufeffn,id\r\n1,a\r\n'))[0]).toMatch(/header/);
    expect(csvProblems(table, Buffer.from('id,n\r\n'))[0]).toMatch(/no byte-order mark/);
    expect(csvProblems({ ...table, dialect: { ...table.dialect, byteOrderMark: false } }, Buffer.from('\ufeffid,n\r\n'))[0]).toMatch(/does not mention/);
    expect(csvProblems(table, Buffer.from('\ufeffid,n\na,1\n'))).not.toEqual([]);
  });
});

describe('resources against the archive’s files', () => {
  const files = new Map(
    Object.entries({ 'a.csv': 'id\r\n', 'b.bin': 'xyz', 'b.bin.part-2': 'w', 'manifest.json': '{}', 'datapackage.json': '{}' }).map(([path, text]) => [
      path,
      { bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') },
    ]),
  );
  const hash = (path: string) => `sha256:${files.get(path)?.sha256}`;
  const resources = (): Resource[] => [
    { name: 'a.csv', path: 'a.csv', bytes: 4, hash: hash('a.csv') },
    {
      name: 'b.bin',
      path: ['b.bin', 'b.bin.part-2'],
      bytes: 4,
      pieces: [
        { path: 'b.bin', bytes: 3, hash: hash('b.bin') },
        { path: 'b.bin.part-2', bytes: 1, hash: hash('b.bin.part-2') },
      ],
    },
    { name: 'manifest.json', path: 'manifest.json', bytes: 2, hash: hash('manifest.json') },
  ];

  it('passes when every file but datapackage.json is in exactly one resource, with its size and hash', () => {
    expect(resourceProblems({ resources: resources() }, files)).toEqual([]);
  });

  it('finds a file left out, a file twice, a wrong size, a wrong hash and a repeated name', () => {
    const [a, b, manifest] = resources() as [Resource, Resource, Resource];
    expect(resourceProblems({ resources: [a, b] }, files)).toEqual(['manifest.json is in 0 resources of datapackage.json, not exactly one']);
    expect(resourceProblems({ resources: [a, b, manifest, { ...a, name: 'again' }] }, files)).toEqual(['a.csv is in 2 resources of datapackage.json, not exactly one']);
    expect(resourceProblems({ resources: [{ ...a, bytes: 5 }, b, manifest] }, files)[0]).toMatch(/says 5 bytes/);
    expect(resourceProblems({ resources: [{ ...a, hash: hash('b.bin') }, b, manifest] }, files)[0]).toMatch(/not its file's sha256/);
    expect(resourceProblems({ resources: [a, { ...b, pieces: b.pieces?.slice().reverse() }, manifest] }, files)[0]).toMatch(/pieces/);
    expect(resourceProblems({ resources: [a, b, { ...manifest, name: 'a.csv' }] }, files)).toEqual(['two resources are named "a.csv"']);
  });
});

describe('the Frictionless profiles', () => {
  const descriptor = (resource: Partial<Resource>): Datapackage => ({ profile: 'data-package', resources: [{ ...table, bytes: 1, hash: 'sha256:ab', ...resource }] });

  it('accept a tabular resource like ours', () => {
    expect(profileProblems(descriptor({}))).toEqual([]);
  });

  it('refuse a name outside the spec’s pattern, an unknown field type, a malformed hash, and a CSV that is not tabular', () => {
    expect(profileProblems(descriptor({ name: 'Account/Profile.csv' })).join('\n')).toMatch(/must match pattern/);
    expect(profileProblems(descriptor({ schema: { fields: [{ name: 'x', type: 'text' }] } })).join('\n')).toMatch(/schema/);
    expect(profileProblems(descriptor({ hash: 'sha256:xyz' })).join('\n')).toMatch(/hash/);
    expect(profileProblems(descriptor({ profile: undefined, format: 'csv' }))).toContain('resource "a.csv" is a CSV but not a tabular-data-resource');
  });
});
