// datapackage.json: the archive as a Frictionless Data Package (specs.frictionlessdata.io, v1), so data
// tools can open it without reading our docs. One resource per file; every CSV is a Tabular Data
// Resource whose Table Schema comes from the types the collectors saw. It is written last, from
// manifest.json's files (whose bytes and sha256 are already known) and the other files written whole.
import type { DataMap } from '../data-map/data-map.ts';
import { findSource } from '../data-map/data-map.ts';
import { guardFormula } from '../values/attribute-values.ts';
import type { ColumnType } from '../values/column-types.ts';
import { ARCHIVE_DOCUMENTS, type ManifestFile } from './manifest.ts';
import { createHash } from 'node:crypto';

export const DATAPACKAGE_PATH = ARCHIVE_DOCUMENTS.datapackage;

/** A file written whole (index.html, manifest.json, …): its path and bytes. */
export interface WholeFile {
  path: string;
  content: Buffer;
}

export interface DatapackageInput {
  exportId: string;
  generatedAt: string;
  /** manifest.json's files: records files (each piece complete) and the pieces of S3 files. */
  files: ManifestFile[];
  /** Every other file of the archive, but datapackage.json itself. */
  whole: WholeFile[];
  /** Each records source's CSV columns, in the CSV's order, with their cells' types. */
  tables: ReadonlyMap<string, readonly (readonly [string, ColumnType])[]>;
  dataMap: DataMap;
}

/** Our CSV as the CSV Dialect spec describes it (csv-rows.ts renders it); `byteOrderMark` is ours, the spec has no word for it. */
const dialect = (byteOrderMark: boolean) => ({
  delimiter: ',',
  lineTerminator: '\r\n',
  quoteChar: '"',
  doubleQuote: true,
  skipInitialSpace: false,
  header: true,
  caseSensitiveHeader: true,
  byteOrderMark,
});

/** Media types by extension, for files of S3 sources; anything else is application/octet-stream. */
const MEDIA_TYPES: Record<string, string> = {
  json: 'application/json',
  csv: 'text/csv',
  html: 'text/html',
  htm: 'text/html',
  txt: 'text/plain',
  md: 'text/markdown',
  xml: 'application/xml',
  pdf: 'application/pdf',
  zip: 'application/zip',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  svg: 'image/svg+xml',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  mp3: 'audio/mpeg',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

const extensionOf = (path: string): string | undefined => /\.([A-Za-z0-9]{1,16})$/.exec(path.slice(path.lastIndexOf('/') + 1))?.[1]?.toLowerCase();

/**
 * A Table Schema field for a column type. `timestamp` (Postgres's "2026-05-01 12:03:07", no zone) is a
 * datetime of format "any": its text is not the default ISO 8601 form, and a pattern cannot say that
 * the fraction is there only when it is not zero. A column nothing typed (`null`: empty in every row) is "any".
 */
function tableField(type: ColumnType): { type: string; format?: string } {
  switch (type) {
    case 'binary':
      return { type: 'string', format: 'binary' };
    case 'uuid':
      return { type: 'string', format: 'uuid' };
    case 'timestamp':
      return { type: 'datetime', format: 'any' };
    case 'null':
      return { type: 'any' };
    default:
      return { type };
  }
}

/**
 * A resource name from a path: lower case, letters without their accents, anything the spec's pattern
 * (^([-a-z0-9._/])+$) refuses as "-", and a number after it when two paths come out the same.
 */
export function resourceName(path: string, taken: Set<string>): string {
  const base =
    path
      .normalize('NFKD')
      .replace(/\p{M}/gu, '')
      .toLowerCase()
      .replace(/[^-a-z0-9._/]/g, '-') || 'file';
  let name = base;
  for (let n = 2; taken.has(name); n += 1) name = `${base}-${n}`;
  taken.add(name);
  return name;
}

const sha256 = (hex: string) => `sha256:${hex}`;

export function renderDatapackage(input: DatapackageInput): string {
  const taken = new Set<string>();
  const resources: Record<string, unknown>[] = [];
  const byteOrderMark = input.dataMap.csv.byteOrderMark;
  for (const file of input.files) {
    if (file.format === 'file') continue;
    const source = findSource(input.dataMap, file.sourceId);
    const common = {
      name: resourceName(file.path, taken),
      path: file.path,
      format: file.format,
      mediatype: file.format === 'csv' ? 'text/csv' : 'application/json',
      encoding: 'utf-8',
      bytes: file.bytes,
      hash: sha256(file.sha256),
      ...(source.description ? { description: source.description } : {}),
    };
    if (file.format === 'json') {
      resources.push(common);
      continue;
    }
    const columns = input.tables.get(file.sourceId);
    if (!columns) throw new Error(`datapackage.json: no columns for the CSV of source "${file.sourceId}"; this is a bug.`);
    const descriptions = source.fields ?? {};
    resources.push({
      ...common,
      profile: 'tabular-data-resource',
      dialect: dialect(byteOrderMark),
      schema: {
        // A field's name is its header cell: a name the formula guard quotes is quoted there too.
        fields: columns.map(([name, type]) => ({
          name: guardFormula(name),
          ...tableField(type),
          ...(Object.hasOwn(descriptions, name) ? { description: descriptions[name] } : {}),
        })),
        missingValues: [''],
      },
    });
  }
  resources.push(...objectResources(input.files, taken));
  for (const file of input.whole) {
    const extension = extensionOf(file.path);
    resources.push({
      name: resourceName(file.path, taken),
      path: file.path,
      ...(extension ? { format: extension } : {}),
      mediatype: (extension && MEDIA_TYPES[extension]) ?? 'application/octet-stream',
      encoding: 'utf-8',
      bytes: file.content.length,
      hash: sha256(createHash('sha256').update(file.content).digest('hex')),
    });
  }
  const descriptor = {
    profile: 'data-package',
    name: resourceName(`user-data-export-${input.exportId}`, new Set()),
    id: input.exportId,
    title: 'Your data export',
    description: 'Everything we hold about you, as JSON and CSV files and the files you gave us. manifest.json proves what is inside; index.html explains it.',
    created: input.generatedAt,
    resources,
  };
  return JSON.stringify(descriptor, null, 2) + '\n';
}

/**
 * The files of S3 sources. A file cut across archive parts is one resource whose `path` lists its
 * pieces: the spec's multipart path, whose files joined in order are the resource, as our pieces are.
 * Its `bytes` is the whole; no one hash covers the whole (each call hashes what it writes), so each
 * piece's size and hash are in `pieces`, an extension.
 */
function objectResources(files: ManifestFile[], taken: Set<string>): Record<string, unknown>[] {
  const pieces = new Map<string, ManifestFile[]>();
  for (const file of files) {
    if (file.format !== 'file') continue;
    const first = file.continues ?? file.path;
    pieces.set(first, [...(pieces.get(first) ?? []), file]);
  }
  return [...pieces].map(([path, parts]) => {
    const extension = extensionOf(path);
    return {
      name: resourceName(path, taken),
      path: parts.length === 1 ? path : parts.map((p) => p.path),
      ...(extension ? { format: extension } : {}),
      mediatype: (extension && MEDIA_TYPES[extension]) ?? 'application/octet-stream',
      bytes: parts.reduce((sum, p) => sum + p.bytes, 0),
      ...(parts.length === 1 ? { hash: sha256((parts[0] as ManifestFile).sha256) } : { pieces: parts.map((p) => ({ path: p.path, bytes: p.bytes, hash: sha256(p.sha256) })) }),
    };
  });
}
