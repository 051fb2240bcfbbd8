// BundleArchive's core: staging parts → ZIP entries → multipart uploads, all streamed. Each file is
// hashed and counted as it flows, so manifest.json (written last) proves what the archive holds. A
// record count that disagrees with what the collector reported fails the export instead of shipping it.
// With maxArchiveBytes, the archive is split into numbered parts, each a complete ZIP under the limit:
// a file that does not fit goes on in the next part as a new piece (records files stay valid JSON/CSV).
//
// One call never runs past its deadline (Lambda stops a function at 15 minutes). When the deadline comes
// first, the part being written is finished as a complete ZIP, where the call stands is saved in
// staging, and the call answers `done: false` with a resume point; the state machine calls again and
// the archive goes on in its next part, exactly as if a size limit had been reached there. An archive
// of any size is then a run of calls, each of which writes at most what one call can.
import { PathAllocator } from './archive-paths.ts';
import { connectorOf, findSource } from '../data-map/data-map.ts';
import { ArchiveWriteError } from '../platform/errors.ts';
import type { Format } from '../data-map/identifiers.ts';
import { renderIndexPage } from './index-page.ts';
import { buildAboutThisExport, type RequestFacts } from './about-this-export.ts';
import { ARCHIVE_DOCUMENTS, buildManifest, type ManifestFile, type ManifestSource } from './manifest.ts';
import { archiveKey, archiveProgressKey, partKey } from '../storage/object-keys.ts';
import { deleteStaging, putObject, readJson } from '../storage/export-bucket.ts';
import { BlockBuffers, textFile, type Position } from './archive-file.ts';
import { DEFAULT_BLOCK_BYTES, DeadlineReached, SplitArchive, type ArchiveDeps, type Writing } from './split-archive.ts';
import { sourceColumns, writeRecordFiles } from './record-files.ts';
import { renderDatapackage, type WholeFile } from './datapackage.ts';
import { writeObjectFiles } from './object-files.ts';

export interface CollectedSource {
  sourceId: string;
  /** Parts written: part-00000 … part-(nextPart-1). */
  nextPart: number;
  records: number;
  /** Milliseconds its collector waited for the source's read budgets. */
  waitedMs?: number;
}

/** Where a call that ran out of time left the archive: its first `partsDone` parts are finished. */
export interface ArchiveResume {
  partsDone: number;
}

export interface ArchiveRequest {
  exportId: string;
  userId: string;
  formats: Format[];
  /** What the request was (received, due, by whom, which categories and dates): about-this-export.json says it. */
  request: RequestFacts;
  sources: CollectedSource[];
  /** Milliseconds from the request to its execution's start: the wait for a slot (admission). */
  queuedMs?: number;
  /** Null (or absent) on the first call; the previous call's `resume` after that. */
  resume?: ArchiveResume | null;
}

export interface BuiltArchive {
  exportId: string;
  userId: string;
  done: true;
  resume: null;
  /** Key of the archive, or of its first part. */
  archiveKey: string;
  /** Bytes of the archive, all parts together. */
  archiveBytes: number;
  /** Parts the archive was split into (1 when it was not). */
  archiveParts: number;
  /** Uncompressed bytes of all entries: what was zipped. */
  entryBytes: number;
  fileCount: number;
  records: Record<string, number>;
}

export interface ArchiveUnderWay {
  exportId: string;
  userId: string;
  done: false;
  resume: ArchiveResume;
}

export type ArchiveResult = BuiltArchive | ArchiveUnderWay;

/** What a call that ran out of time saves for the next. */
interface SavedArchive {
  generatedAt: string;
  parts: { key: string; bytes: number }[];
  files: ManifestFile[];
  sources: ManifestSource[];
  at: Position;
}

/** Milliseconds as seconds, to the millisecond. */
const seconds = (ms: number) => Math.round(ms) / 1000;

export async function buildArchive(request: ArchiveRequest, deps: ArchiveDeps): Promise<ArchiveResult> {
  const clock = deps.now;
  const saved = request.resume?.partsDone ? await loadProgress(deps, request.exportId, request.resume.partsDone) : undefined;
  const generatedAt = saved ? new Date(saved.generatedAt) : clock();
  // Small part limits get small blocks, so that parts fill up well before the next block must move on.
  const blockBytes = deps.blockBytes ?? (deps.maxArchiveBytes ? Math.min(DEFAULT_BLOCK_BYTES, Math.max(16 * 1024, Math.floor(deps.maxArchiveBytes / 16))) : DEFAULT_BLOCK_BYTES);
  const archive = new SplitArchive(request.exportId, deps, generatedAt, saved?.parts ?? [], () => deps.deadline !== undefined && clock().getTime() >= deps.deadline);
  const files: ManifestFile[] = saved?.files ?? [];
  const sources: ManifestSource[] = saved?.sources ?? [];
  const paths = new PathAllocator();
  for (const file of files) if (file.continues === undefined) paths.reserve(file.path);
  if (saved?.at.path !== undefined) paths.reserve(saved.at.path);
  const writing: Writing = { exportId: request.exportId, deps, archive, paths, blockBytes, buffers: new BlockBuffers(blockBytes), files, tables: new Map() };
  try {
    for (let index = saved?.at.source ?? 0; index < request.sources.length; index += 1) {
      const collected = request.sources[index] as CollectedSource;
      const source = findSource(deps.dataMap, collected.sourceId);
      const at = saved && index === saved.at.source ? saved.at : { source: index };
      const parts = Array.from({ length: collected.nextPart }, (_, i) => partKey(request.exportId, source.id, i));
      const records =
        connectorOf(source).output === 'records'
          ? await writeRecordFiles(source, parts, collected.records, request.formats, at, writing)
          : await writeObjectFiles(source, parts, at, writing);
      if (records !== collected.records) {
        throw new ArchiveWriteError(
          `Source "${source.id}" staged ${records} records but the collector reported ${collected.records}; refusing to ship an archive that may be incomplete.`,
        );
      }
      const readBudgetWaitSeconds = seconds(collected.waitedMs ?? 0);
      sources.push({ sourceId: source.id, category: source.category, type: source.type, description: source.description, status: 'complete', records, readBudgetWaitSeconds });
    }
    const manifest = buildManifest({
      exportId: request.exportId,
      userId: request.userId,
      generatedAt: generatedAt.toISOString(),
      formats: request.formats,
      sources,
      files,
      waited: { forSlotSeconds: seconds(request.queuedMs ?? 0), forReadBudgetsSeconds: seconds(request.sources.reduce((sum, s) => sum + (s.waitedMs ?? 0), 0)) },
    });
    // Whole, and together in the last part: a reader opens the last part and finds them all complete.
    const manifestText = JSON.stringify(manifest, null, 2) + '\n';
    const about = buildAboutThisExport(deps.dataMap, {
      exportId: request.exportId,
      userId: request.userId,
      generatedAt: manifest.generatedAt,
      request: request.request,
      sourceIds: sources.map((s) => s.sourceId),
    });
    const tables = await csvTables(request, writing);
    let wholeFiles = 0;
    await archive.addWholeFiles((partCount) => {
      const whole = [
        textFile(ARCHIVE_DOCUMENTS.index, renderIndexPage(manifest, deps.dataMap, { partCount, about }), blockBytes),
        textFile(ARCHIVE_DOCUMENTS.about, JSON.stringify(about, null, 2) + '\n', blockBytes),
        textFile(ARCHIVE_DOCUMENTS.manifest, manifestText, blockBytes),
      ];
      // Last, so that it describes every other file: the manifest's and each one written whole above.
      const described = whole.map((file): WholeFile => ({ path: file.path, content: file.content ?? Buffer.alloc(0) }));
      const datapackage = renderDatapackage({ exportId: request.exportId, generatedAt: manifest.generatedAt, files, whole: described, tables, dataMap: deps.dataMap });
      wholeFiles = whole.length + 1;
      return [...whole, textFile(ARCHIVE_DOCUMENTS.datapackage, datapackage, blockBytes)];
    }, blockBytes);
    const parts = await archive.finish();
    await deleteStaging(deps.s3, deps.exportBucket.bucket, request.exportId);
    return {
      exportId: request.exportId,
      userId: request.userId,
      done: true,
      resume: null,
      archiveKey: archiveKey(request.exportId),
      archiveBytes: parts.reduce((sum, part) => sum + part.bytes, 0),
      archiveParts: parts.length,
      entryBytes: manifest.totals.bytes,
      fileCount: files.length + wholeFiles,
      records: Object.fromEntries(sources.map((s) => [s.sourceId, s.records])),
    };
  } catch (error) {
    if (error instanceof DeadlineReached) {
      // The part is finished; what is written so far and where to go on are saved under the part count,
      // so a retried call overwrites its own save and the next call finds it.
      files.push(...error.pieces);
      const progress: SavedArchive = { generatedAt: generatedAt.toISOString(), parts: archive.parts, files, sources, at: error.at };
      await putObject(deps.exportBucket, archiveProgressKey(request.exportId, archive.parts.length), JSON.stringify(progress), 'application/json');
      return { exportId: request.exportId, userId: request.userId, done: false, resume: { partsDone: archive.parts.length } };
    }
    const failure = error instanceof ArchiveWriteError ? error : new ArchiveWriteError(`Building the archive failed: ${(error as Error).message}`, { cause: error });
    try {
      await archive.abort(failure);
    } catch (cleanup) {
      throw new ArchiveWriteError(`${failure.message} The archive parts already written could not be removed: ${(cleanup as Error).message}`, { cause: failure });
    }
    throw failure;
  }
}

/**
 * Calls buildArchive until the archive is built, as the state machine does; `deadlineOf` gives each
 * call its deadline. For the benchmark and the tests, which run the archive builder without the state machine.
 */
export async function buildUntilDone(
  request: ArchiveRequest,
  deps: ArchiveDeps,
  deadlineOf: () => number | undefined = () => deps.deadline,
): Promise<BuiltArchive & { calls: number }> {
  let resume = request.resume ?? null;
  for (let calls = 1; ; calls += 1) {
    const result = await buildArchive({ ...request, resume }, { ...deps, deadline: deadlineOf() });
    if (result.done) return { ...result, calls };
    resume = result.resume;
  }
}

/**
 * The CSV columns of every records source with a CSV file, for datapackage.json: as this call read them,
 * or read again from staging for a source an earlier call archived (staging is removed only after).
 */
async function csvTables(request: ArchiveRequest, writing: Writing): Promise<Writing['tables']> {
  const tables = new Map(writing.tables);
  for (const collected of request.sources) {
    if (tables.has(collected.sourceId) || !writing.files.some((file) => file.sourceId === collected.sourceId && file.format === 'csv')) continue;
    const source = findSource(writing.deps.dataMap, collected.sourceId);
    tables.set(source.id, await sourceColumns(writing.deps, writing.exportId, source, collected.nextPart));
  }
  return tables;
}

async function loadProgress(deps: ArchiveDeps, exportId: string, partsDone: number): Promise<SavedArchive> {
  const key = archiveProgressKey(exportId, partsDone);
  try {
    return await readJson<SavedArchive>(deps.s3, deps.exportBucket.bucket, key);
  } catch (error) {
    throw new ArchiveWriteError(`The archive's progress after part ${partsDone} is missing from staging (${(error as Error).message}); start the export again.`, { cause: error });
  }
}

export { DEFAULT_BLOCK_BYTES, type ArchiveDeps } from './split-archive.ts';
