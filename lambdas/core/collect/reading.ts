// What a CollectSource call is given and answers, and how a read of a user store fails: as an error
// the workflow acts on (a store that cannot be read, or a read that failed).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DataMap } from '../data-map/data-map.ts';
import type { Clock } from '../platform/clock.ts';
import { SourceReadError, SourceUnavailableError } from '../platform/errors.ts';
import type { JobStore } from '../jobs/job-store.ts';
import { putObject, StagingWriter, type ExportBucket } from '../storage/export-bucket.ts';
import { columnsKey, partKey } from '../storage/object-keys.ts';
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type pg from 'pg';
import * as z from 'zod';
import type { SourceReads } from './pacing/source-reads.ts';
import { exportIdSchema, userIdSchema } from '../data-map/identifiers.ts';
import { mergeColumns, stagedColumns, type ColumnType, type ColumnTypes } from '../values/column-types.ts';

/** The date range the user chose: records whose timeAttribute is within it, both bounds inclusive (ISO 8601). */
export interface TimeRange {
  since: string | null;
  until: string | null;
}

export interface CollectRequest {
  exportId: string;
  userId: string;
  sourceId: string;
  /** The user's date range, for a source that names a timeAttribute; null or absent: everything. */
  range?: TimeRange | null;
  /** Where the previous invocation stopped (opaque to the state machine); null on the first call. */
  cursor: string | null;
  /** The next part number to write. */
  nextPart: number;
  /** Records (or objects) collected so far. */
  records: number;
  /** Milliseconds the source's calls so far waited for its read budgets (the manifest records them). */
  waitedMs?: number;
}

export interface CollectResult extends CollectRequest {
  done: boolean;
}

/** The event of CollectSource and CollectDatabaseSource: a request, with the defaults of a first call. */
export const collectEvent = z.object({
  exportId: exportIdSchema,
  userId: userIdSchema,
  sourceId: z.string().min(1),
  range: z.object({ since: z.iso.datetime().nullable(), until: z.iso.datetime().nullable() }).nullable().default(null),
  cursor: z.string().nullable().default(null),
  nextPart: z.number().int().min(0).default(0),
  records: z.number().int().min(0).default(0),
  waitedMs: z.number().min(0).default(0),
});

/** Time a collect call keeps back from Lambda's limit to close the part upload and report. */
export const COLLECT_SAFETY_MARGIN_MS = 60_000;

export interface CollectDeps {
  dynamodb: DynamoDBClient;
  s3: S3Client;
  exportBucket: ExportBucket;
  jobs: JobStore;
  dataMap: DataMap;
  /** The clock deadlines are read against (the handler's). */
  now: Clock;
  /** Connects to a database the data map declares (CollectDatabaseSource only): the collector ends the client. */
  connectDatabase?: (database: string) => Promise<pg.ClientBase & { end(): Promise<void> }>;
  /** The Cognito client and the id of each pool the data map declares (CollectSource only). */
  cognito?: { client: CognitoIdentityProviderClient; userPoolId(pool: string): string };
  /** Objects up to this size are copied with one CopyObject (S3's limit for it, 5 GiB, by default). */
  copyLimitBytes?: number;
  /** Parts of a larger object's UploadPartCopy (default 256 MiB; more when 10,000 would not hold it). */
  copyPartBytes?: number;
  /** How a read waits for its budget (real time by default; tests of pacing may count instead). */
  wait?: (ms: number) => Promise<void>;
}

/** What a collector reads with: the call's dependencies and its source's reads (paced, throttles waited out). */
export type CollectCall = CollectDeps & { reads: SourceReads };

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

/**
 * One staging part of records: export-JSON lines and, beside it, the columns they hold (the CSV's) with
 * the type of cell each holds (its Table Schema field), merged over the part's records.
 * Nothing is written for a call that read no records, so parts are only ever the ones with data.
 */
export class RecordPart {
  private writer: StagingWriter | undefined;
  private readonly columns: ColumnTypes = new Map();
  records = 0;

  constructor(
    private readonly bucket: ExportBucket,
    private readonly request: CollectRequest,
  ) {}

  async write(lines: string, records: number, columns: Iterable<readonly [string, ColumnType]>): Promise<void> {
    if (records === 0) return;
    this.writer ??= new StagingWriter(this.bucket, partKey(this.request.exportId, this.request.sourceId, this.request.nextPart));
    await this.writer.write(lines);
    mergeColumns(this.columns, columns);
    this.records += records;
  }

  /** Finishes the part; the request's next part number after it. */
  async close(): Promise<number> {
    if (!this.writer) return this.request.nextPart;
    await this.writer.close();
    await putObject(this.bucket, columnsKey(this.request.exportId, this.request.sourceId, this.request.nextPart), stagedColumns(this.columns), 'application/json');
    return this.request.nextPart + 1;
  }
}
