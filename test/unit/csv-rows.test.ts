// CsvRows renders CSV straight from staged JSON bytes, by hand; csv-parse (an independent RFC 4180
// reader) must read back every cell as the export promises: text as it is (a formula start guarded
// with "'"), numbers with their digits, booleans as true/false, NULL and missing attributes empty.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ColumnTypes } from '../../lambdas/core/values/column-types.ts';
import { csvHeader, itemToJson, orderColumns, toJsonNumber } from '../../lambdas/core/values/attribute-values.ts';
import { CsvRows, type OutputBuffers } from '../../lambdas/core/archive/csv/csv-rows.ts';
import { expectedCsvCell } from '../support/expectations.ts';

const buffers: OutputBuffers = { take: (bytes) => Buffer.alloc(bytes), give: () => undefined };

const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', '=SUM(A1)', '+1', '-2', '@x', '\tx', '\rx', 'a,b', 'say "hi"', 'line\nbreak', 'cr\r\nlf', '日本 🎉', '\u0000nul'),
);
const number = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 37n), max: 10n ** 37n }).map(String),
  fc.constantFrom('0.5', '-42.75', '1E+10', '12345678901234567890.123456789'),
);
const value: fc.Arbitrary<AttributeValue> = fc.oneof(
  text.map((S) => ({ S })),
  number.map((N) => ({ N })),
  fc.boolean().map((BOOL) => ({ BOOL })),
  fc.constant({ NULL: true as const }),
);
const name = fc.oneof(fc.constantFrom('a', 'b', 'note', 'amount', 'say "x"', 'a,b', '=f', 'ünï'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }));
const item = fc.dictionary(name, value, { minKeys: 1, maxKeys: 6 }).map((rest): Record<string, AttributeValue> => ({ userId: { S: 'u-1' }, ...rest }));

describe('CsvRows against csv-parse (property)', () => {
  it('renders every cell so that an RFC 4180 reader reads back what the export promises', () => {
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 20 }), (items) => {
        const seen: ColumnTypes = new Map();
        const lines = items.map((i) => itemToJson(i, seen) + '\n').join('');
        const columns = orderColumns(seen.keys(), ['userId']);
        const { data, records } = new CsvRows(columns, buffers).render(Buffer.from(lines));
        expect(records).toBe(items.length);
        const table: string[][] = parse(csvHeader(columns) + data.toString('utf8'), { relax_quotes: false });
        expect(table[0]).toEqual(columns.map((c) => (/^[=+\-@\t\r]/.test(c) ? `'${c}` : c)));
        const rows = table.slice(1);
        expect(rows).toHaveLength(items.length);
        items.forEach((i, r) => {
          columns.forEach((column, c) => {
            const wire = i[column] as Parameters<typeof expectedCsvCell>[0];
            const expected = expectedCsvCell(wire);
            const cell = rows[r]?.[c];
            // Numbers keep every digit, in JSON's number grammar (the JSON file's exact text).
            expect(cell, `row ${r}, ${column}`).toBe(wire && 'N' in wire ? toJsonNumber(wire.N) : expected);
          });
        });
      }),
      { numRuns: 300 },
    );
  });
});
