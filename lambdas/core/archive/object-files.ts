// An S3 source's files: each staged object streamed into its entry under a safe path, fetched a few
// ahead so that tens of thousands of small files do not wait on one round trip each.
import type { Readable } from 'node:stream';
import { safeRelativePath } from './archive-paths.ts';
import type { Source } from '../data-map/data-map.ts';
import { ArchiveWriteError } from '../platform/errors.ts';
import { stagedObjectKey } from '../storage/object-keys.ts';
import type { Block, BlockBuffers, Position } from './archive-file.ts';
import { piecesOf, type ArchiveDeps, type Writing } from './split-archive.ts';
import { getObject, readLines } from './staged-reads.ts';

interface StagedObject {
  sequence: number;
  key: string;
  size: number;
}

/** Writes an S3 source's files from `at`; returns how many objects they hold. */
export async function writeObjectFiles(source: Source, parts: string[], at: Position, { exportId, deps, archive, paths, blockBytes, buffers, files }: Writing) {
  const skip = at.object ?? 0;
  const resumeOffset = at.offset ?? 0;
  // The first object listed is the one a call may have cut mid-way; it goes on from its offset.
  const fetch = (object: StagedObject, index: number) =>
    getObject(deps.s3, deps.exportBucket.bucket, stagedObjectKey(exportId, source.id, object.sequence), index === 0 ? resumeOffset : 0);
  let ordinal = skip;
  for await (const { object, body } of prefetched(stagedObjects(deps, parts, skip), fetch, PREFETCH_OBJECTS)) {
    const resuming = ordinal === skip && at.path !== undefined;
    const relative = safeRelativePath(object.key) || `object-${object.sequence}`;
    const path = resuming ? (at.path as string) : paths.allocate(`${source.category}/${source.id}/${relative}`);
    const start: Position = resuming ? at : { source: at.source, object: ordinal, offset: 0 };
    // Bytes of the pieces earlier calls wrote (looked up only for the file they cut: a source of tens of
    // thousands of files must not search the whole manifest for each).
    const earlier = resuming ? piecesOf(files, path).reduce((sum, file) => sum + file.bytes, 0) : 0;
    const written = await archive.addFile({
      path,
      manifest: { sourceId: source.id, category: source.category, format: 'file', originalKey: object.key },
      blocks: byteBlocks(await body, blockBytes, buffers, start),
      sizeBound: object.size,
      piecePath: (n) => `${path}.part-${n}`,
      start,
      piecesBefore: resuming ? (at.pieces ?? 0) : 0,
    });
    files.push(...written);
    const bytes = written.reduce((sum, file) => sum + file.bytes, earlier);
    if (bytes !== object.size) {
      throw new ArchiveWriteError(`File "${object.key}" of source "${source.id}" should have ${object.size} bytes but ${bytes} were read.`);
    }
    ordinal += 1;
  }
  return files.filter((file) => file.sourceId === source.id && file.continues === undefined).length;
}

/** Staged objects whose GET is already under way while the ones before them are archived: a source of tens of thousands of small files waits on one round trip at a time otherwise. */
const PREFETCH_OBJECTS = 8;

/** The source's staged objects in order, the first `skip` left out. */
async function* stagedObjects(deps: ArchiveDeps, parts: string[], skip: number): AsyncGenerator<StagedObject> {
  let ordinal = 0;
  for (const part of parts) {
    for await (const lines of readLines(deps.s3, deps.exportBucket.bucket, part)) {
      for (const line of lines) if (ordinal++ >= skip) yield JSON.parse(line) as StagedObject;
    }
  }
}

/** Each item with its fetch started up to `depth` items ahead. Bodies fetched but never used are released. */
async function* prefetched<T, R extends Readable>(
  items: AsyncIterable<T>,
  fetch: (item: T, ordinal: number) => Promise<R>,
  depth: number,
): AsyncGenerator<{ object: T; body: Promise<R> }> {
  const queue: { object: T; body: Promise<R> }[] = [];
  try {
    let ordinal = 0;
    for await (const object of items) {
      const body = fetch(object, ordinal++);
      body.catch(() => undefined);
      queue.push({ object, body });
      if (queue.length >= depth) yield queue.shift() as { object: T; body: Promise<R> };
    }
    while (queue.length > 0) yield queue.shift() as { object: T; body: Promise<R> };
  } finally {
    for (const left of queue)
      void left.body.then(
        (body) => body.destroy(),
        () => undefined,
      );
  }
}

/**
 * A stream's bytes in blocks of exactly `blockBytes` (the last one shorter), copied into reused buffers;
 * the stream starts at `start.offset` of its object, and each block says where the next one starts.
 */
async function* byteBlocks(body: Readable, blockBytes: number, buffers: BlockBuffers, start: Position): AsyncGenerator<Block> {
  let offset = start.offset ?? 0;
  const block = (data: Buffer, length: number): Block => {
    offset += length;
    return { data: data.subarray(0, length), records: 0, release: () => buffers.give(data), end: { source: start.source, object: start.object, offset } };
  };
  let filling = buffers.take(blockBytes);
  let length = 0;
  for await (const chunk of body) {
    for (let at = 0; at < (chunk as Buffer).length;) {
      const copied = (chunk as Buffer).copy(filling, length, at, at + blockBytes - length);
      length += copied;
      at += copied;
      if (length < blockBytes) continue;
      yield block(filling, length);
      filling = buffers.take(blockBytes);
      length = 0;
    }
  }
  if (length > 0) yield block(filling, length);
  else buffers.give(filling);
}
