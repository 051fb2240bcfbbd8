// What a CollectSource call is given and answers, and how a read of a user store fails: as an error
// the workflow acts on (a store that cannot be read, or a read that failed).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DataMap } from '../data-map/data-map.ts';
import type { Clock } from '../platform/clock.ts';
import { SourceReadError, SourceUnavailableError } from '../platform/errors.ts';
import type { JobStore } from '../jobs/job-store.ts';
import type { ExportBucket } from '../storage/export-bucket.ts';

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
  /** The clock deadlines are read against (the handler's). */
  now: Clock;
  /** Objects up to this size are copied with one CopyObject (S3's limit for it, 5 GiB, by default). */
  copyLimitBytes?: number;
  /** Parts of a larger object's UploadPartCopy (default 256 MiB; more when 10,000 would not hold it). */
  copyPartBytes?: number;
}

const UNAVAILABLE = new Set(['ResourceNotFoundException', 'NoSuchBucket', 'AccessDenied', 'AccessDeniedException', 'ValidationException']);

/** How a store's error reads: the label the message names it by, and whether it is permanent (the store cannot be read as configured). */
export interface StoreErrorKind {
  label: string;
  unavailable: boolean;
}

/** The AWS stores' errors, by their name. */
const awsErrorKind = (error: Error): StoreErrorKind => ({ label: error.name, unavailable: UNAVAILABLE.has(error.name) });

/**
 * Runs one read against a user store, turning its failure into a named error the workflow acts on: a
 * store that cannot be read (not retried) or a read that failed (retried). An error already named so
 * passes as it is.
 */
export async function readPage<T>(sourceId: string, read: () => Promise<T>, kindOf: (error: Error) => StoreErrorKind = awsErrorKind): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof SourceUnavailableError || error instanceof SourceReadError) throw error;
    const { label, unavailable } = kindOf(error as Error);
    if (unavailable) {
      throw new SourceUnavailableError(sourceId, `Source "${sourceId}" cannot be read (${label}): ${(error as Error).message}`, { cause: error });
    }
    throw new SourceReadError(sourceId, `Reading source "${sourceId}" failed (${label}): ${(error as Error).message}`, { cause: error });
  }
}

/** Milliseconds since the epoch by the collector's clock, to compare with a deadline. */
export const nowMs = (deps: Pick<CollectDeps, 'now'>): number => deps.now().getTime();
