// What an archive must contain, computed from the seed by code independent of the production writers:
// the archive's JSON is parsed with lossless-json (numbers keep their digits as text) and its CSV with
// csv-parse, then compared with the seed's own DynamoDB JSON.
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseLossless } from 'lossless-json';
import type { WireItem, WireValue } from '../../lambdas/core/values/attribute-values.ts';
import { excludedNames, type DynamoDbSource } from '../../lambdas/core/data-map/data-map.ts';
import type { Seed } from '../../local/seed.ts';

/** A number in canonical form: its text, never a double. */
export interface Digits {
  $n: string;
}
export type Canonical = string | boolean | null | Digits | Canonical[] | { [name: string]: Canonical };

export function canonicalFromWire(value: WireValue): Canonical {
  if ('S' in value) return value.S;
  if ('N' in value) return { $n: value.N };
  if ('B' in value) return value.B;
  if ('BOOL' in value) return value.BOOL;
  if ('NULL' in value) return null;
  if ('SS' in value) return value.SS;
  if ('NS' in value) return value.NS.map((n) => ({ $n: n }));
  if ('BS' in value) return value.BS;
  if ('L' in value) return value.L.map(canonicalFromWire);
  return canonicalItem(value.M);
}

export function canonicalItem(item: WireItem): { [name: string]: Canonical } {
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, canonicalFromWire(v)]));
}

/** Parses export JSON with every number kept as its literal text. */
export function parseExportJson(text: string): Canonical {
  return parseLossless(text, null, (digits: string) => ({ $n: digits })) as Canonical;
}

/** The seed's items of one user for one DynamoDB source, with the data map's include/exclude applied. */
export function expectedItems(seed: Seed, source: DynamoDbSource, userId: string): WireItem[] {
  const key = source.keyTemplate.replaceAll('{userId}', userId);
  return (seed.tables[source.table] ?? [])
    .filter((item) => {
      const partition = item[source.partitionKey];
      if (!partition || !('S' in partition) || partition.S !== key) return false;
      if (source.sortKeyPrefix === undefined || source.sortKey === undefined) return true;
      const sort = item[source.sortKey];
      return sort !== undefined && 'S' in sort && sort.S.startsWith(source.sortKeyPrefix);
    })
    .map((item) => {
      const kept = Object.entries(item).filter(([name]) => (source.include ? source.include.includes(name) : !excludedNames(source).includes(name)));
      return redactedWire(Object.fromEntries(kept), source.redact ?? []);
    });
}

/** What the data map's `redact` paths leave of a seed item: each value there the redaction text, the field kept. */
export function redactedWire(item: WireItem, paths: readonly string[]): WireItem {
  const at = (value: WireValue, rest: string[]): WireValue => {
    if ('L' in value) return { L: value.L.map((element) => at(element, rest)) };
    if (!('M' in value)) return value;
    return { M: redactIn(value.M, rest) };
  };
  const redactIn = (members: WireItem, segments: string[]): WireItem => {
    const [name, ...rest] = segments;
    if (name === undefined || !(name in members)) return members;
    const value = members[name] as WireValue;
    return { ...members, [name]: rest.length === 0 ? { S: "[redacted: another person's data]" } : at(value, rest) };
  };
  return paths.reduce((redacted, path) => redactIn(redacted, path.split('.')), item);
}

/** Sorts canonical records by their JSON text, so multisets compare with toEqual. */
export function sortRecords<T>(records: T[]): T[] {
  return [...records].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

export function parseCsvText(text: string): { header: string[]; rows: string[][] } {
  // Every CSV begins with the UTF-8 byte-order mark (the data map's default), so Excel reads it as UTF-8.
  if (!text.startsWith('\ufeff')) throw new Error(`The CSV does not begin with its byte-order mark: ${JSON.stringify(text.slice(0, 20))}`);
  const table: string[][] = parseCsv(text.slice(1), { relax_column_count: false });
  const [header = [], ...rows] = table;
  return { header, rows };
}

/** The CSV cell a seed value must become: formula guard on text only, numbers verbatim, nested as JSON. */
export function expectedCsvCell(value: WireValue | undefined): string | Canonical {
  if (value === undefined || 'NULL' in value) return '';
  if ('S' in value || 'B' in value) {
    const text = 'S' in value ? value.S : value.B;
    return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  }
  if ('N' in value) return value.N;
  if ('BOOL' in value) return String(value.BOOL);
  // Nested values: compared after parsing the cell's JSON losslessly.
  return canonicalFromWire(value);
}
