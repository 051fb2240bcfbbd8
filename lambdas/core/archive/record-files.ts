// A DynamoDB source's records as files: the staged export-JSON lines become a JSON array and CSV rows,
// block by block, each piece of a file cut at a part boundary complete JSON or CSV on its own.
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { csvHeader, orderColumns } from '../values/attribute-values.ts';
import { CsvRows } from './csv/csv-rows.ts';
import { connectorOf, keyColumnsOf, type Source } from '../data-map/data-map.ts';
import { ArchiveWriteError } from '../platform/errors.ts';
import type { Format } from '../data-map/identifiers.ts';
import { columnsKey } from '../storage/object-keys.ts';
import { readJson } from '../storage/export-bucket.ts';
import type { Block, BlockBuffers, Position } from './archive-file.ts';
import type { ArchiveDeps, Writing } from './split-archive.ts';
import { getObject } from './staged-reads.ts';
import { mergeColumns, parseStagedColumns, type ColumnType, type ColumnTypes } from '../values/column-types.ts';

/** Writes a DynamoDB source's JSON and CSV files from `at`; returns the records they hold. */
export async function writeRecordFiles(source: Source, parts: string[], staged: number, formats: Format[], at: Position, writing: Writing) {
  const { exportId, deps, archive, paths, blockBytes, buffers, files } = writing;
  const base = `${source.category}/${source.id}`;
  const piecePath = (path: string, extension: string) => (n: number) => `${path.slice(0, -extension.length)}-part-${n}${extension}`;
  const records = (format: Format) => files.filter((file) => file.sourceId === source.id && file.format === format).reduce((sum, file) => sum + (file.records ?? 0), 0);
  // The CSV's columns; every part's list is read even without CSV, as the proof that the part holds
  // export JSON lines (the staging format of this version) and not something else.
  const table = await sourceColumns(deps, exportId, source, parts.length);
  writing.tables.set(source.id, table);
  const columns = table.map(([name]) => name);

  // Staged lines are already the records' export JSON: the JSON file is those lines in an array; CSV
  // rows are rendered from the same bytes.
  const wanted = (['json', 'csv'] as const).filter((format) => formats.includes(format));
  // Bounds of the files' sizes from the staged bytes: JSON adds ",\n  " per record and its brackets; a
  // CSV cell at most doubles a value (quotes doubled, nested JSON quoted) and a row ends in CRLF.
  const stagedBytes = await stagedSize(deps, parts);
  for (const format of wanted.slice(at.format === undefined ? 0 : wanted.indexOf(at.format))) {
    const resuming = at.format === format;
    const extension = `.${format}`;
    const path = resuming && at.path !== undefined ? at.path : paths.allocate(`${base}${extension}`);
    const start: Position = resuming ? at : { source: at.source, format, part: 0, offset: 0 };
    const lines = stagedLineBlocks(deps, parts, blockBytes, start);
    const common = {
      path,
      manifest: { sourceId: source.id, category: source.category, format },
      piecePath: piecePath(path, extension),
      start,
      piecesBefore: resuming ? (at.pieces ?? 0) : 0,
    };
    if (format === 'json') {
      const sizeBound = stagedBytes + 4 * staged + 8;
      files.push(...(await archive.addFile({ ...common, sizeBound, blocks: jsonArrayBlocks(lines, buffers), head: '[', tail: '\n]\n', separatorBytes: 1 })));
    } else {
      const head = (deps.dataMap.csv.byteOrderMark ? BYTE_ORDER_MARK : '') + csvHeader(columns);
      const sizeBound = 2 * stagedBytes + 2 * staged + 2 * columns.length * staged + Buffer.byteLength(head);
      files.push(...(await archive.addFile({ ...common, sizeBound, blocks: csvBlocks(lines, new CsvRows(columns, buffers), buffers), head })));
    }
  }
  if (wanted.length === 2 && records('json') !== records('csv')) throw new ArchiveWriteError(`Source "${source.id}" changed while it was being archived.`);
  return records(wanted[0] ?? 'json');
}

/** U+FEFF at the start of every CSV piece, so spreadsheets read it as UTF-8. */
const BYTE_ORDER_MARK = '\ufeff';

/** Bytes of a source's staged parts, together. */
async function stagedSize(deps: ArchiveDeps, parts: string[]): Promise<number> {
  let total = 0;
  for (const part of parts) {
    const head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.exportBucket.bucket, Key: part }));
    total += head.ContentLength ?? 0;
  }
  return total;
}

/**
 * The staged lines of the parts as they are stored, from `start` on, in blocks of about `blockBytes`
 * cut after a newline (a record longer than that is a block alone). Lines are never decoded here. Each
 * block is a view of one reused buffer, valid until the next block is asked for: its consumers copy it
 * at once. Each says where the lines after it start.
 */
async function* stagedLineBlocks(deps: ArchiveDeps, parts: string[], blockBytes: number, start: Position): AsyncGenerator<{ lines: Buffer; end: Position }> {
  let buffer = Buffer.allocUnsafeSlow(2 * blockBytes);
  let length = 0;
  for (let part = start.part ?? 0; part < parts.length; part += 1) {
    const key = parts[part] as string;
    // `consumed`: bytes of this part before buffer[0].
    let consumed = part === start.part ? (start.offset ?? 0) : 0;
    const at = (offset: number): Position => ({ source: start.source, format: start.format, part, offset });
    for await (const chunk of await getObject(deps.s3, deps.exportBucket.bucket, key, consumed)) {
      if (length + (chunk as Buffer).length > buffer.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(2 * buffer.length, length + (chunk as Buffer).length));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      length += (chunk as Buffer).copy(buffer, length);
      if (length < blockBytes) continue;
      let from = 0;
      while (length - from >= blockBytes) {
        let cut = buffer.lastIndexOf(NEWLINE, from + blockBytes - 1) + 1;
        if (cut <= from) cut = buffer.indexOf(NEWLINE, from + blockBytes) + 1;
        if (cut <= from || cut > length) break;
        yield { lines: buffer.subarray(from, cut), end: at(consumed + cut) };
        from = cut;
      }
      consumed += from;
      length = buffer.copy(buffer, 0, from, length);
    }
    if (length > 0) {
      // A part always ends with a newline; a missing one would mean a truncated part.
      if (buffer[length - 1] !== NEWLINE) throw new ArchiveWriteError(`Staging part ${key} ends in the middle of a record.`);
      yield { lines: buffer.subarray(0, length), end: { source: start.source, format: start.format, part: part + 1, offset: 0 } };
      length = 0;
    }
  }
}

/** The JSON file's records: each staged line preceded by ",\n  " (a piece's first block drops the comma). */
async function* jsonArrayBlocks(lineBlocks: AsyncIterable<{ lines: Buffer; end: Position }>, buffers: BlockBuffers): AsyncGenerator<Block> {
  const separator = Buffer.from(',\n  ');
  for await (const { lines, end } of lineBlocks) yield { ...withSeparators(lines, separator, buffers), end };
}

/** The CSV file's rows, rendered from the staged lines' bytes. */
async function* csvBlocks(lineBlocks: AsyncIterable<{ lines: Buffer; end: Position }>, rows: CsvRows, buffers: BlockBuffers): AsyncGenerator<Block> {
  for await (const { lines, end } of lineBlocks) {
    const { data, records } = rows.render(lines);
    yield { data, records, release: () => buffers.give(data), end };
  }
}

const NEWLINE = 0x0a;

/** Newline-terminated lines → the same lines each preceded by `separator`, and how many there were. */
function withSeparators(lines: Buffer, separator: Buffer, buffers: BlockBuffers): Block {
  let records = 0;
  for (let at = lines.indexOf(NEWLINE); at !== -1; at = lines.indexOf(NEWLINE, at + 1)) records += 1;
  const length = lines.length - records + records * separator.length;
  const out = buffers.take(length);
  let from = 0;
  let to = 0;
  for (let at = lines.indexOf(NEWLINE); at !== -1; at = lines.indexOf(NEWLINE, from)) {
    to += separator.copy(out, to);
    to += lines.copy(out, to, from, at);
    from = at + 1;
  }
  return { data: out.subarray(0, length), records, release: () => buffers.give(out) };
}

/**
 * A records source's CSV columns in the CSV's order, each with the type of its cells merged over every
 * part. An empty source still gets its header: the key columns, which every item has (of a type nothing showed).
 */
export async function sourceColumns(deps: ArchiveDeps, exportId: string, source: Source, partCount: number): Promise<[string, ColumnType][]> {
  const seen: ColumnTypes = new Map();
  for (let part = 0; part < partCount; part += 1) mergeColumns(seen, await readColumns(deps, exportId, source.id, part));
  const keyAttributes = keyColumnsOf(source);
  const order =
    seen.size === 0
      ? keyAttributes
      : orderColumns(
          seen.keys(),
          keyAttributes.filter((k) => seen.has(k)),
          connectorOf(source).columnOrder,
        );
  return order.map((name) => [name, seen.get(name) ?? 'null']);
}

/** The attribute names the collector saw in one part, with their cells' types. */
export async function readColumns(deps: ArchiveDeps, exportId: string, sourceId: string, part: number): Promise<[string, ColumnType][]> {
  const otherVersion = (what: string, cause?: unknown) =>
    new ArchiveWriteError(`Part ${part} of source "${sourceId}" has ${what}; it was staged by another version of the collector. Start the export again.`, { cause });
  let staged: unknown;
  try {
    staged = await readJson<unknown>(deps.s3, deps.exportBucket.bucket, columnsKey(exportId, sourceId, part));
  } catch (error) {
    if ((error as Error).name !== 'NoSuchKey') throw error;
    throw otherVersion('no column list', error);
  }
  const columns = parseStagedColumns(staged);
  if (!columns) throw otherVersion('a column list without types');
  return columns;
}
