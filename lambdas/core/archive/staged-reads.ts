// Reading staged objects back: a body from a byte on, and NDJSON lines across chunk boundaries.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { ArchiveWriteError } from '../platform/errors.ts';

/** A staged object's body, from byte `from` on (a call going on where the one before it stopped). */
export async function getObject(s3: S3Client, bucket: string, key: string, from = 0): Promise<Readable> {
  let object;
  try {
    object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: from > 0 ? `bytes=${from}-` : undefined }));
  } catch (error) {
    // Going on exactly at the end: nothing is left to read.
    if (from > 0 && (error as Error).name === 'InvalidRange') return Readable.from([]);
    throw error;
  }
  if (!(object.Body instanceof Readable)) throw new ArchiveWriteError(`Staged object ${key} has no readable body.`);
  return object.Body;
}

/** Non-empty lines of an NDJSON object, decoded across chunk boundaries, yielded a chunk at a time. */
export async function* readLines(s3: S3Client, bucket: string, key: string): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of await getObject(s3, bucket, key)) {
    pending += decoder.write(chunk as Buffer);
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    const full = lines.filter((line) => line !== '');
    if (full.length > 0) yield full;
  }
  pending += decoder.end();
  if (pending) yield [pending];
}
