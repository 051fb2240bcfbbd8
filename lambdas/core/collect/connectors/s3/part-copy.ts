// A large object's copy into staging, inside S3, part by part with UploadPartCopy: as far as a call's
// deadline allows, with where it stands saved (the parts' ETags beside the staged object) for the next
// call to go on.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3Source } from '../../../data-map/data-map.ts';
import { copyPartsKey } from '../../../storage/object-keys.ts';
import { putObject, readJson } from '../../../storage/export-bucket.ts';
import { MIB, S3_MAX_PARTS, S3_MAX_PART_BYTES, S3_MIN_PART_BYTES } from '../../../storage/multipart-upload.ts';
import { nowMs, type CollectCall, type CollectDeps } from '../../reading.ts';

/** A large object's parts: 256 MiB is ~2 s of S3's copying each, so a deadline is never far off. */
const COPY_PART_BYTES = 256 * MIB;
/** UploadPartCopy requests at once. */
const COPY_PARTS_IN_FLIGHT = 4;

/** A multipart copy under way: the parts before `nextPart` are copied (their ETags are staged beside it). */
export interface PartCopy {
  key: string;
  size: number;
  /** The source object's ETag: every part is copied from that version only (CopySourceIfMatch). */
  etag?: string;
  uploadId: string;
  partBytes: number;
  nextPart: number;
}

export interface ListedObject {
  key: string;
  size: number;
  etag?: string;
}

/** Aborts a multipart copy no call will go on with (best effort: the bucket's lifecycle aborts what is left after a day). */
export async function abandonCopy(deps: CollectDeps, stagedKey: string, uploadId: string): Promise<void> {
  await deps.s3.send(new AbortMultipartUploadCommand({ Bucket: deps.exportBucket.bucket, Key: stagedKey, UploadId: uploadId })).catch(() => undefined);
}

/**
 * Copies a large object part by part with UploadPartCopy, as far as the deadline allows. Safe to run
 * again with the same cursor: a copy this cursor handed in is never aborted here (the retry goes on
 * with it), saved ETags past the cursor's part are ignored (a lost later call saved them), and a copy
 * already completed by a call that failed afterwards is recognised by the staged object itself.
 */
export async function copyInParts(
  source: S3Source,
  object: ListedObject,
  stagedKey: string,
  copySource: string,
  deps: CollectCall,
  deadline: number,
  resume: PartCopy | undefined,
): Promise<PartCopy | undefined> {
  const { s3, exportBucket } = deps;
  const now = () => nowMs(deps);
  const bucket = exportBucket.bucket;
  const { size } = object;
  let copy: PartCopy;
  let parts: CompletedPart[] = [];
  let createdHere = false;
  if (resume && resume.size === size && resume.etag === object.etag) {
    if ((await stagedSize(s3, bucket, stagedKey)) === size) return undefined;
    copy = { ...resume };
    const saved = copy.nextPart > 1 ? await readJson<CompletedPart[]>(s3, bucket, copyPartsKey(stagedKey)) : [];
    parts = saved.filter((part) => (part.PartNumber ?? 0) < copy.nextPart);
  } else {
    // The object changed since the copy began: what was copied is of another version.
    if (resume) await abandonCopy(deps, stagedKey, resume.uploadId);
    const created = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: stagedKey,
        ContentType: 'application/octet-stream',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: exportBucket.kmsKeyId,
      }),
    );
    createdHere = true;
    const partBytes = Math.min(S3_MAX_PART_BYTES, Math.max(S3_MIN_PART_BYTES, deps.copyPartBytes ?? COPY_PART_BYTES, Math.ceil(size / S3_MAX_PARTS / MIB) * MIB));
    copy = { key: object.key, size, ...(object.etag ? { etag: object.etag } : {}), uploadId: created.UploadId ?? '', partBytes, nextPart: 1 };
  }
  const partCount = Math.ceil(size / copy.partBytes);
  const copyPart = async (PartNumber: number) => {
    const first = (PartNumber - 1) * copy.partBytes;
    const last = Math.min(size, first + copy.partBytes) - 1;
    const result = await deps.reads.read(() =>
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
    if (createdHere) await abandonCopy(deps, stagedKey, copy.uploadId);
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
