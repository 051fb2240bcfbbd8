// An S3 source: the user's objects, listed in S3's byte order and copied into staging inside S3, small
// ones sixteen at a time, large ones part by part across calls (s3-part-copy.ts).
import { CopyObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { renderKeyTemplate, type S3Source } from '../../../data-map/data-map.ts';
import { SourceReadError } from '../../../platform/errors.ts';
import { partKey, stagedObjectKey } from '../../../storage/object-keys.ts';
import { StagingWriter } from '../../../storage/export-bucket.ts';
import { MIB, S3_MAX_PARTS, S3_MAX_PART_BYTES, S3_MIN_PART_BYTES } from '../../../storage/multipart-upload.ts';
import { abandonCopy, copyInParts, type ListedObject, type PartCopy } from './part-copy.ts';
import { nowMs, type CollectCall, type CollectRequest, type CollectResult } from '../../reading.ts';

/** CopyObject copies at most 5 GiB; larger objects are copied part by part, still inside S3. */
const COPY_LIMIT_BYTES = 5 * 1024 * MIB;
/**
 * CopyObject requests at once for objects up to the copy limit. S3 takes tens of milliseconds for even
 * the smallest copy, so one at a time a user's 20,000 files would take the collector ten minutes.
 */
const COPIES_IN_FLIGHT = 16;

/**
 * Where an S3 source stopped: the last key already staged. Resuming lists the keys after it (S3 lists
 * in UTF-8 byte order), so an object added or removed between invocations is neither skipped nor staged
 * twice: what comes after the cursor is listed as it is then, what came before is done.
 */
interface S3Cursor {
  after?: string;
  /** An object too large for one CopyObject whose copy the deadline interrupted: it goes on from here. */
  copying?: PartCopy;
}

function parseS3Cursor(sourceId: string, cursor: string | null): S3Cursor {
  if (cursor === null) return {};
  try {
    const parsed = JSON.parse(cursor) as S3Cursor;
    const copying = parsed.copying;
    const validCopy =
      copying === undefined ||
      (typeof copying.key === 'string' &&
        typeof copying.uploadId === 'string' &&
        (copying.etag === undefined || typeof copying.etag === 'string') &&
        [copying.size, copying.partBytes, copying.nextPart].every(Number.isSafeInteger) &&
        copying.partBytes >= S3_MIN_PART_BYTES &&
        copying.partBytes <= S3_MAX_PART_BYTES &&
        copying.nextPart >= 1 &&
        copying.nextPart <= S3_MAX_PARTS);
    if (typeof parsed === 'object' && parsed !== null && (parsed.after === undefined || typeof parsed.after === 'string') && validCopy) {
      return { after: parsed.after, copying };
    }
  } catch {
    // Reported below.
  }
  throw new SourceReadError(sourceId, `Source "${sourceId}" was given a cursor that is not one of its own; start the export again.`);
}

export async function collectS3(source: S3Source, request: CollectRequest, deps: CollectCall, deadline: number): Promise<CollectResult> {
  const now = () => nowMs(deps);
  const prefix = renderKeyTemplate(source.prefix, request.userId);
  const copyLimit = deps.copyLimitBytes ?? COPY_LIMIT_BYTES;
  let { after, copying } = parseS3Cursor(source.id, request.cursor);
  let sequence = request.records;
  let writer: StagingWriter | undefined;
  let finished = false;
  // Objects in listing order whose copies may still be under way; each is written to the part, and the
  // cursor moved past it, in that order, once its copy is done.
  const queue: { key: string; line?: string; size: number; staged?: Promise<unknown> }[] = [];
  let bytesInFlight = 0;
  const settleFirst = async () => {
    const entry = queue.shift();
    if (!entry) return;
    if (entry.staged) {
      bytesInFlight -= entry.size;
      await entry.staged;
    }
    if (entry.line !== undefined) {
      writer ??= new StagingWriter(deps.exportBucket, partKey(request.exportId, source.id, request.nextPart));
      await writer.write(entry.line);
    }
    after = entry.key;
  };
  const settleAll = async () => {
    while (queue.length > 0) await settleFirst();
  };
  let started = 0;
  try {
    for (let outOfTime = false; !finished && !outOfTime;) {
      const page = await deps.reads.read(() => deps.s3.send(new ListObjectsV2Command({ Bucket: source.bucket, Prefix: prefix, StartAfter: after })));
      const objects = page.Contents ?? [];
      for (let index = 0; index < objects.length; index += 1) {
        const object = objects[index];
        const key = object?.Key ?? '';
        if (!key.startsWith(prefix)) {
          throw new SourceReadError(source.id, `Source "${source.id}" listed an object outside the user's prefix.`);
        }
        // Every call stages at least one object; after that, none is started past the deadline.
        if (started > 0 && now() >= deadline) {
          outOfTime = true;
          break;
        }
        started += 1;
        const size = object?.Size ?? 0;
        // Zero-byte "folder" markers carry no data.
        if (key.endsWith('/') && size === 0) {
          queue.push({ key, size: 0 });
          continue;
        }
        // The cursor's copy goes on only as this call's first object, under the same key and still large:
        // an object listed before it (one added meanwhile) takes its place in the sequence, so its upload,
        // made for that staged key, is abandoned and the object copied again under its own.
        if (copying && (copying.key !== key || sequence !== request.records || size <= copyLimit)) {
          await abandonCopy(deps, stagedObjectKey(request.exportId, source.id, request.records), copying.uploadId);
          copying = undefined;
        }
        const line = JSON.stringify({ sequence, key: key.slice(prefix.length), size, lastModified: object?.LastModified?.toISOString() }) + '\n';
        const listed = { key, size, etag: object?.ETag };
        const stagedKey = stagedObjectKey(request.exportId, source.id, sequence);
        if (size > copyLimit) {
          // A large copy runs alone and may outlast the call: it saves where it is and the next call goes on.
          await settleAll();
          // A copy the cursor handed in is this object's (any other was abandoned above).
          copying = await copyToStaging(source, listed, stagedKey, deps, deadline, copying);
          if (copying) {
            // Out of time inside one object: the next call lists from just before it and goes on copying.
            outOfTime = true;
            break;
          }
          sequence += 1;
          queue.push({ key, line, size: 0 });
          continue;
        }
        sequence += 1;
        // Small copies overlap, up to COPIES_IN_FLIGHT and never more bytes at once than one copy may hold.
        while (queue.length > 0 && (queue.length >= COPIES_IN_FLIGHT || bytesInFlight + size > copyLimit)) await settleFirst();
        const staged = copyToStaging(source, listed, stagedKey, deps, deadline, undefined);
        staged.catch(() => undefined);
        bytesInFlight += size;
        queue.push({ key, line, size, staged });
      }
      await settleAll();
      if (!outOfTime && (!page.IsTruncated || objects.length === 0)) finished = true;
    }
  } catch (error) {
    // No copy may go on writing staging after this call has failed (the failure's cleanup removes it).
    await Promise.allSettled(queue.flatMap((entry) => (entry.staged ? [entry.staged] : [])));
    throw error;
  }
  if (writer) await writer.close();
  return {
    ...request,
    cursor: finished ? null : JSON.stringify({ after, ...(copying ? { copying } : {}) }),
    nextPart: writer ? request.nextPart + 1 : request.nextPart,
    records: sequence,
    done: finished,
  };
}

/**
 * Copies one object of the source into staging, inside S3: one CopyObject up to 5 GiB, UploadPartCopy
 * part by part above. Returns the copy still under way when the deadline came first (its parts' ETags
 * are staged), or undefined once the object is staged.
 */
async function copyToStaging(
  source: S3Source,
  object: ListedObject,
  stagedKey: string,
  deps: CollectCall,
  deadline: number,
  resume: PartCopy | undefined,
): Promise<PartCopy | undefined> {
  const { s3, exportBucket } = deps;
  const copySource = `${source.bucket}/${encodeCopySourceKey(object.key)}`;
  if (object.size <= (deps.copyLimitBytes ?? COPY_LIMIT_BYTES)) {
    await deps.reads.read(() =>
      s3.send(
        new CopyObjectCommand({
          Bucket: exportBucket.bucket,
          Key: stagedKey,
          CopySource: copySource,
          // The archive holds an object's bytes, never its S3 tags; copying them (the default) would need
          // s3:GetObjectTagging on every source and s3:PutObjectTagging on staging for nothing.
          TaggingDirective: 'REPLACE',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: exportBucket.kmsKeyId,
        }),
      ),
    );
    return undefined;
  }
  return copyInParts(source, object, stagedKey, copySource, deps, deadline, resume);
}

/**
 * The key as a URL path: each segment percent-encoded, but ":" and "@" left as RFC 3986 allows in a
 * path segment (S3 accepts either form; the s3rver emulator decodes only this one).
 */
export function encodeCopySourceKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%3A/g, ':').replace(/%40/g, '@'))
    .join('/');
}
