// CollectSource's core: read one source of one user into staging parts, for as long as the time budget
// allows, then hand back a cursor. The state machine calls again until `done`. The same input always
// writes the same part key, so a retry after a crash overwrites its own part and counts stay exact.
import { QueryCommand, type AttributeValue, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { itemToJson, projectItem } from '../values/attribute-values.ts';
import { renderKeyTemplate, type DataMap, type DynamoDbSource, type S3Source, findSource } from '../data-map/data-map.ts';
import { ExportEndedError, SourceReadError, SourceUnavailableError } from '../platform/errors.ts';
import { ACTIVE_STATUSES, type JobStore } from '../jobs/job-store.ts';
import { copyPartsKey, columnsKey, partKey, stagedObjectKey } from '../storage/object-keys.ts';
import { deleteStaging, putObject, readJson, StagingWriter, type ExportBucket } from '../storage/export-bucket.ts';
import { MIB, S3_MAX_PARTS, S3_MAX_PART_BYTES, S3_MIN_PART_BYTES } from '../storage/multipart-upload.ts';

export interface CollectRequest {
  exportId: string;
  userId: string;
  sourceId: string;
  /** Where the previous invocation stopped (opaque to the state machine); null on the first call. */
  cursor: string | null;
  /** The next part number to write. */
  nextPart: number;
  /** Records (or objects) collected so far. */
  records: number;
}

export interface CollectResult extends CollectRequest {
  done: boolean;
}

export interface CollectDeps {
  dynamodb: DynamoDBClient;
  s3: S3Client;
  exportBucket: ExportBucket;
  jobs: JobStore;
  dataMap: DataMap;
  now?: () => number;
  /** Objects up to this size are copied with one CopyObject (S3's limit for it, 5 GiB, by default). */
  copyLimitBytes?: number;
  /** Parts of a larger object's UploadPartCopy (default 256 MiB; more when 10,000 would not hold it). */
  copyPartBytes?: number;
}

/** CopyObject copies at most 5 GiB; larger objects are copied part by part, still inside S3. */
const COPY_LIMIT_BYTES = 5 * 1024 * MIB;
/** A large object's parts: 256 MiB is ~2 s of S3's copying each, so a deadline is never far off. */
const COPY_PART_BYTES = 256 * MIB;
/** UploadPartCopy requests at once. */
const COPY_PARTS_IN_FLIGHT = 4;
/**
 * CopyObject requests at once for objects up to the copy limit. S3 takes tens of milliseconds for even
 * the smallest copy, so one at a time a user's 20,000 files would take the collector ten minutes.
 */
const COPIES_IN_FLIGHT = 16;

export async function collectSource(request: CollectRequest, deps: CollectDeps, deadline: number): Promise<CollectResult> {
  const source = findSource(deps.dataMap, request.sourceId);
  await assertStillActive(request, deps.jobs);
  const result =
    source.type === 'dynamodb' ? await collectDynamoDb(source, request, deps, deadline) : await collectS3(source, request, deps, deadline);
  // When another source fails, the workflow moves on to MarkFailed while this call may still be
  // writing. MarkFailed removes staging after marking the job; checking the job after our writes
  // means whichever runs last cleans up, so nothing of an ended export is left behind.
  const job = await deps.jobs.get(request.exportId);
  if (!job || !ACTIVE_STATUSES.includes(job.status)) {
    await deleteStaging(deps.s3, deps.exportBucket.bucket, request.exportId);
    throw new ExportEndedError(request.exportId, job?.status);
  }
  await deps.jobs.recordSourceProgress(request.exportId, request.sourceId, {
    records: result.records,
    parts: result.nextPart,
    done: result.done,
  });
  return result;
}

async function assertStillActive(request: CollectRequest, jobs: JobStore): Promise<void> {
  const job = await jobs.get(request.exportId);
  if (!job || !ACTIVE_STATUSES.includes(job.status)) throw new ExportEndedError(request.exportId, job?.status);
  if (job.userId !== request.userId) throw new ExportEndedError(request.exportId, 'of another user');
}

async function collectDynamoDb(source: DynamoDbSource, request: CollectRequest, deps: CollectDeps, deadline: number): Promise<CollectResult> {
  const now = deps.now ?? Date.now;
  const keyValue = renderKeyTemplate(source.keyTemplate, request.userId);
  const query = userQuery(source, request.userId);
  let cursor: Record<string, AttributeValue> | undefined = request.cursor ? (JSON.parse(request.cursor) as Record<string, AttributeValue>) : undefined;
  let writer: StagingWriter | undefined;
  let records = request.records;
  const columns = new Set<string>();
  do {
    const page = await readPage(source.id, () => deps.dynamodb.send(new QueryCommand({ ...query, ExclusiveStartKey: cursor })));
    const items = page.Items ?? [];
    if (items.length > 0) {
      let lines = '';
      for (const item of items) {
        // Query cannot return another partition, but this is personal data: prove it for every item.
        if (item[source.partitionKey]?.S !== keyValue) {
          throw new SourceReadError(source.id, `Source "${source.id}" returned an item that does not belong to the requested user.`);
        }
        lines += itemToJson(projectItem(item, source), columns) + '\n';
      }
      writer ??= new StagingWriter(deps.exportBucket, partKey(request.exportId, source.id, request.nextPart));
      await writer.write(lines);
      records += items.length;
    }
    cursor = page.LastEvaluatedKey;
  } while (cursor && now() < deadline);
  if (writer) {
    await writer.close();
    await putObject(deps.exportBucket, columnsKey(request.exportId, source.id, request.nextPart), JSON.stringify([...columns]), 'application/json');
  }
  return {
    ...request,
    cursor: cursor ? JSON.stringify(cursor) : null,
    nextPart: writer ? request.nextPart + 1 : request.nextPart,
    records,
    done: cursor === undefined,
  };
}

/**
 * The Query for one user's items of a source: the partition of the rendered key template, narrowed by
 * the sort-key prefix and (for an allow-list) projected. Collecting, finding the recipient and checking
 * that a user exists all read a user this one way.
 */
export function userQuery(source: DynamoDbSource, userId: string): QueryCommandInput {
  const keyValue = renderKeyTemplate(source.keyTemplate, userId);
  const names: Record<string, string> = { '#pk': source.partitionKey };
  const values: Record<string, AttributeValue> = { ':pk': { S: keyValue } };
  let condition = '#pk = :pk';
  if (source.sortKey !== undefined && source.sortKeyPrefix !== undefined) {
    names['#sk'] = source.sortKey;
    values[':skPrefix'] = { S: source.sortKeyPrefix };
    condition += ' AND begins_with(#sk, :skPrefix)';
  }
  let projection: string | undefined;
  if (source.include) {
    // With an allow-list, excluded attributes never leave DynamoDB at all. The partition key is always
    // read (to prove ownership) and dropped again by projectItem when it is not on the list.
    const wanted = [...new Set([...source.include, source.partitionKey])];
    projection = wanted.map((name, i) => ((names[`#p${i}`] = name), `#p${i}`)).join(', ');
  }
  return {
    TableName: source.table,
    IndexName: source.index,
    KeyConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ProjectionExpression: projection,
  };
}

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

/** A multipart copy under way: the parts before `nextPart` are copied (their ETags are staged beside it). */
interface PartCopy {
  key: string;
  size: number;
  /** The source object's ETag: every part is copied from that version only (CopySourceIfMatch). */
  etag?: string;
  uploadId: string;
  partBytes: number;
  nextPart: number;
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

async function collectS3(source: S3Source, request: CollectRequest, deps: CollectDeps, deadline: number): Promise<CollectResult> {
  const now = deps.now ?? Date.now;
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
    for (let outOfTime = false; !finished && !outOfTime; ) {
      const page = await readPage(source.id, () => deps.s3.send(new ListObjectsV2Command({ Bucket: source.bucket, Prefix: prefix, StartAfter: after })));
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
        const line = JSON.stringify({ sequence, key: key.slice(prefix.length), size, lastModified: object?.LastModified?.toISOString() }) + '\n';
        const listed = { key, size, etag: object?.ETag };
        const stagedKey = stagedObjectKey(request.exportId, source.id, sequence);
        if (size > copyLimit) {
          // A large copy runs alone and may outlast the call: it saves where it is and the next call goes on.
          await settleAll();
          const resume = copying?.key === key ? copying : undefined;
          copying = await copyToStaging(source, listed, stagedKey, deps, deadline, resume);
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
        // A large copy the cursor named is past (its object is gone or now small): nothing goes on with it.
        if (copying && copying.key !== key) copying = undefined;
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
  deps: CollectDeps,
  deadline: number,
  resume: PartCopy | undefined,
): Promise<PartCopy | undefined> {
  const { s3, exportBucket } = deps;
  const copySource = `${source.bucket}/${encodeCopySourceKey(object.key)}`;
  if (object.size <= (deps.copyLimitBytes ?? COPY_LIMIT_BYTES)) {
    await readPage(source.id, () =>
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

interface ListedObject {
  key: string;
  size: number;
  etag?: string;
}

/**
 * Copies a large object part by part with UploadPartCopy, as far as the deadline allows. Safe to run
 * again with the same cursor: a copy this cursor handed in is never aborted here (the retry goes on
 * with it), saved ETags past the cursor's part are ignored (a lost later call saved them), and a copy
 * already completed by a call that failed afterwards is recognised by the staged object itself.
 */
async function copyInParts(
  source: S3Source,
  object: ListedObject,
  stagedKey: string,
  copySource: string,
  deps: CollectDeps,
  deadline: number,
  resume: PartCopy | undefined,
): Promise<PartCopy | undefined> {
  const { s3, exportBucket } = deps;
  const now = deps.now ?? Date.now;
  const bucket = exportBucket.bucket;
  const { size } = object;
  let copy: PartCopy;
  let parts: CompletedPart[] = [];
  let createdHere = false;
  const abort = (uploadId: string) => s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: stagedKey, UploadId: uploadId })).catch(() => undefined);
  if (resume && resume.size === size && resume.etag === object.etag) {
    if ((await stagedSize(s3, bucket, stagedKey)) === size) return undefined;
    copy = { ...resume };
    const saved = copy.nextPart > 1 ? await readJson<CompletedPart[]>(s3, bucket, copyPartsKey(stagedKey)) : [];
    parts = saved.filter((part) => (part.PartNumber ?? 0) < copy.nextPart);
  } else {
    // The object changed since the copy began: what was copied is of another version.
    if (resume) await abort(resume.uploadId);
    const created = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: stagedKey, ContentType: 'application/octet-stream', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: exportBucket.kmsKeyId }),
    );
    createdHere = true;
    const partBytes = Math.min(S3_MAX_PART_BYTES, Math.max(S3_MIN_PART_BYTES, deps.copyPartBytes ?? COPY_PART_BYTES, Math.ceil(size / S3_MAX_PARTS / MIB) * MIB));
    copy = { key: object.key, size, ...(object.etag ? { etag: object.etag } : {}), uploadId: created.UploadId ?? '', partBytes, nextPart: 1 };
  }
  const partCount = Math.ceil(size / copy.partBytes);
  const copyPart = async (PartNumber: number) => {
    const first = (PartNumber - 1) * copy.partBytes;
    const last = Math.min(size, first + copy.partBytes) - 1;
    const result = await readPage(source.id, () =>
      s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: stagedKey,
          UploadId: copy.uploadId,
          PartNumber,
          CopySource: copySource,
          CopySourceRange: `bytes=${first}-${last}`,
          // Every part from the version listed: an object replaced meanwhile fails the part (412), and
          // the retry, listing the new version, starts the copy again.
          CopySourceIfMatch: copy.etag,
        }),
      ),
    );
    return { PartNumber, ETag: result.CopyPartResult?.ETag };
  };
  try {
    while (copy.nextPart <= partCount) {
      const batch = Array.from({ length: Math.min(COPY_PARTS_IN_FLIGHT, partCount - copy.nextPart + 1) }, (_, i) => copy.nextPart + i);
      parts.push(...(await Promise.all(batch.map(copyPart))));
      copy.nextPart += batch.length;
      if (copy.nextPart <= partCount && now() >= deadline) {
        await putObject(exportBucket, copyPartsKey(stagedKey), JSON.stringify(parts), 'application/json');
        return copy;
      }
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: stagedKey, UploadId: copy.uploadId, MultipartUpload: { Parts: parts } }));
    return undefined;
  } catch (error) {
    // A copy begun here is not needed by the retry, which starts it again from the cursor it was given;
    // one the cursor handed in is the retry's to go on with.
    if (createdHere) await abort(copy.uploadId);
    throw error;
  }
}

/** The staged object's size, or undefined when it is not there (yet). */
async function stagedSize(s3: S3Client, bucket: string, key: string): Promise<number | undefined> {
  try {
    return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength;
  } catch (error) {
    if ((error as Error).name === 'NotFound' || (error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
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

const UNAVAILABLE = new Set(['ResourceNotFoundException', 'NoSuchBucket', 'AccessDenied', 'AccessDeniedException', 'ValidationException']);

/** Runs one read against a user store, turning its failure into a named error the workflow acts on. */
async function readPage<T>(sourceId: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    const name = (error as Error).name;
    if (UNAVAILABLE.has(name)) {
      throw new SourceUnavailableError(sourceId, `Source "${sourceId}" cannot be read (${name}): ${(error as Error).message}`, { cause: error });
    }
    throw new SourceReadError(sourceId, `Reading source "${sourceId}" failed (${name}): ${(error as Error).message}`, { cause: error });
  }
}
