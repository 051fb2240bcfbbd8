// Checks an archive's datapackage.json as a data tool would rely on it: valid against the vendored
// Frictionless profiles (local/frictionless/), one resource for every other file in the archive with
// its exact size and sha256, and every CSV's header and cells as its Table Schema says.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ajvDraft04 from 'ajv-draft-04';
import type { ValidateFunction } from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { parse } from 'csv-parse/sync';
import { cellProblem, type TableField } from './table-schema-cells.ts';

const PROFILES = join(dirname(fileURLToPath(import.meta.url)), 'frictionless');

export interface Resource {
  name: string;
  path: string | string[];
  profile?: string;
  format?: string;
  mediatype?: string;
  encoding?: string;
  bytes?: number;
  hash?: string;
  pieces?: { path: string; bytes: number; hash: string }[];
  dialect?: { delimiter?: string; lineTerminator?: string; quoteChar?: string; doubleQuote?: boolean; header?: boolean; byteOrderMark?: boolean };
  schema?: { fields: TableField[]; missingValues?: string[] };
}

export interface Datapackage {
  profile?: string;
  resources: Resource[];
}

let validators: Record<'package' | 'resource' | 'tabular' | 'tableSchema', ValidateFunction> | undefined;

function profiles() {
  if (validators) return validators;
  // The profiles are draft-04 and carry UI keywords (propertyOrder, options, format "textarea"): not strict.
  // Both are CommonJS whose module.exports is also their `default`: NodeNext types the import as the module.
  const ajv = new ajvDraft04.default({ strict: false, allErrors: true });
  ajvFormats.default(ajv);
  ajv.addFormat('textarea', true);
  const load = (file: string) => ajv.compile(JSON.parse(readFileSync(join(PROFILES, file), 'utf8')) as object);
  validators = {
    package: load('data-package.json'),
    resource: load('data-resource.json'),
    tabular: load('tabular-data-resource.json'),
    tableSchema: load('table-schema.json'),
  };
  return validators;
}

const errorsOf = (what: string, validate: ValidateFunction, value: unknown): string[] =>
  validate(value) ? [] : (validate.errors ?? []).map((e) => `${what}${e.instancePath} ${e.message ?? 'is invalid'}`);

/** Problems of the descriptor against the Data Package profile, each resource against its own profile, and each schema against Table Schema's. */
export function profileProblems(descriptor: Datapackage): string[] {
  const { package: dataPackage, resource, tabular, tableSchema } = profiles();
  const problems = errorsOf('datapackage.json', dataPackage, descriptor);
  for (const r of descriptor.resources ?? []) {
    const what = `resource "${r.name}"`;
    problems.push(...errorsOf(what, r.profile === 'tabular-data-resource' ? tabular : resource, r));
    if (r.schema !== undefined) problems.push(...errorsOf(`${what} schema`, tableSchema, r.schema));
    if (r.format === 'csv' && r.profile !== 'tabular-data-resource') problems.push(`${what} is a CSV but not a tabular-data-resource`);
  }
  return problems;
}

export type SeenFiles = ReadonlyMap<string, { bytes: number; sha256: string }>;

/** Problems of the resources against the archive's files: each file but datapackage.json in exactly one resource, sizes and hashes exact, names unique. */
export function resourceProblems(descriptor: Datapackage, seen: SeenFiles): string[] {
  const problems: string[] = [];
  const covered = new Map<string, number>();
  const names = new Set<string>();
  for (const r of descriptor.resources ?? []) {
    if (names.has(r.name)) problems.push(`two resources are named "${r.name}"`);
    names.add(r.name);
    const paths = typeof r.path === 'string' ? [r.path] : r.path;
    for (const path of paths) covered.set(path, (covered.get(path) ?? 0) + 1);
    const files = paths.map((path) => ({ path, file: seen.get(path) }));
    for (const { path, file } of files) if (!file) problems.push(`resource "${r.name}" names ${path}, which is not in the archive`);
    if (files.some(({ file }) => !file)) continue;
    const total = files.reduce((sum, { file }) => sum + (file?.bytes ?? 0), 0);
    if (r.bytes !== total) problems.push(`resource "${r.name}" says ${r.bytes} bytes; its file${paths.length > 1 ? 's hold' : ' holds'} ${total}`);
    if (typeof r.path === 'string') {
      if (r.hash !== `sha256:${seen.get(r.path)?.sha256}`) problems.push(`resource "${r.name}" has hash ${r.hash}, not its file's sha256`);
    } else {
      const pieces = r.pieces ?? [];
      const expected = r.path.map((path) => ({ path, bytes: seen.get(path)?.bytes, hash: `sha256:${seen.get(path)?.sha256}` }));
      if (JSON.stringify(pieces) !== JSON.stringify(expected)) problems.push(`resource "${r.name}" lists pieces that are not its files' sizes and hashes in order`);
    }
  }
  for (const path of seen.keys()) {
    if (path === 'datapackage.json') continue;
    const count = covered.get(path) ?? 0;
    if (count !== 1) problems.push(`${path} is in ${count} resources of datapackage.json, not exactly one`);
  }
  return problems;
}

const BYTE_ORDER_MARK = '\ufeff';

/** Problems of one CSV file against its resource: the byte-order mark its dialect promises, the header, every cell's type. */
export function csvProblems(resource: Resource, content: Buffer): string[] {
  const fields = resource.schema?.fields ?? [];
  const dialect = resource.dialect ?? {};
  const path = String(resource.path);
  let text = content.toString('utf8');
  if (dialect.byteOrderMark) {
    if (!text.startsWith(BYTE_ORDER_MARK)) return [`${path}: no byte-order mark, although its dialect says so`];
    text = text.slice(1);
  } else if (text.startsWith(BYTE_ORDER_MARK)) return [`${path}: a byte-order mark its dialect does not mention`];
  let rows: string[][];
  try {
    const parsed: string[][] = parse(text, {
      delimiter: dialect.delimiter ?? ',',
      quote: dialect.quoteChar ?? '"',
      record_delimiter: dialect.lineTerminator ?? '\r\n',
      relax_quotes: false,
    });
    rows = parsed;
  } catch (error) {
    return [`${path}: not CSV of its dialect (${(error as Error).message})`];
  }
  const [header = [], ...body] = rows;
  const names = fields.map((f) => f.name);
  if (JSON.stringify(header) !== JSON.stringify(names)) return [`${path}: header ${JSON.stringify(header)} is not the schema's fields ${JSON.stringify(names)}`];
  const missing = new Set(resource.schema?.missingValues ?? ['']);
  const problems: string[] = [];
  body.forEach((row, r) => {
    if (row.length !== fields.length) problems.push(`${path} row ${r + 1}: ${row.length} cells for ${fields.length} fields`);
    row.forEach((cell, c) => {
      const field = fields[c];
      const problem = field && !missing.has(cell) ? cellProblem(field, cell) : undefined;
      if (problem) problems.push(`${path} row ${r + 1}: ${problem}`);
    });
  });
  return problems;
}

/** Every problem of datapackage.json in archive entries held in memory (every part's, for a split archive). */
export function datapackageProblems(entries: ReadonlyMap<string, Buffer>): string[] {
  const text = entries.get('datapackage.json');
  if (!text) return ['the archive has no datapackage.json'];
  const descriptor = JSON.parse(text.toString('utf8')) as Datapackage;
  const seen = new Map([...entries].map(([path, content]) => [path, { bytes: content.length, sha256: createHash('sha256').update(content).digest('hex') }]));
  const problems = [...profileProblems(descriptor), ...resourceProblems(descriptor, seen)];
  for (const r of descriptor.resources ?? []) {
    const content = typeof r.path === 'string' ? entries.get(r.path) : undefined;
    if (r.profile === 'tabular-data-resource' && content) problems.push(...csvProblems(r, content));
  }
  return problems;
}
