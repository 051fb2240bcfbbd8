// A PostgreSQL source: the user's rows, a keyset page at a time for as long as the call's budget allows,
// staged as export-JSON lines with the columns each part saw (and their cells' types), exactly as a
// DynamoDB source's items are, so the archive's JSON and CSV follow the same rules. The cursor is the last row's orderBy values.
import type pg from 'pg';
import type { ExportBucket } from '../../../storage/export-bucket.ts';
import type { Clock } from '../../../platform/clock.ts';
import { SourceUnavailableError } from '../../../platform/errors.ts';
import { RecordPart, type CollectCall, type CollectRequest, type CollectResult, type StoreErrorKind } from '../../reading.ts';
import { SourceReads } from '../../pacing/source-reads.ts';
import type { PostgresSource } from './schema.ts';
import { postgresRead, readPostgresPage, type PostgresRead } from './reader.ts';

/** Rows per page: a few MB of JSON at most for rows of ordinary width. */
export const POSTGRES_PAGE_ROWS = 1000;

export interface PostgresDeps {
  exportBucket: ExportBucket;
  /** A connected client for the named database (the data map's `databases` key); the collector ends it. */
  connect(database: string): Promise<pg.ClientBase & { end(): Promise<void> }>;
  now: Clock;
  /** Each statement's limit; the call's remaining time bounds it too. */
  statementTimeoutMs?: number;
  pageRows?: number;
  /** The source's reads, paced by its rows-per-second budgets (unpaced when absent). */
  reads?: SourceReads;
}

/**
 * Errors a store answers with that say it cannot be read as configured, not that a read failed this
 * once: authentication, an unknown database, any syntax or access-rule error (class 42), a query that
 * writes in the read-only transaction, a protocol mismatch (a query without :userId), and a value the
 * query itself cannot convert (22P02 inside it; a user id its column's type cannot hold reads nothing
 * instead, reader.ts).
 */
const UNAVAILABLE_CODES = new Set(['28000', '28P01', '3D000', '25006', '08P01', '22P02']);

/** A PostgreSQL error by its SQLSTATE (a connection's by Node's code, such as ECONNREFUSED: retried). */
function postgresErrorKind(error: Error): StoreErrorKind {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return { label: error.name, unavailable: false };
  return { label: code, unavailable: UNAVAILABLE_CODES.has(code) || code.startsWith('42') };
}

export async function collectPostgres(source: PostgresRead & { database: string }, request: CollectRequest, deps: PostgresDeps, deadline: number): Promise<CollectResult> {
  const now = () => deps.now().getTime();
  const reads = deps.reads ?? new SourceReads(source.id, { budgets: [], now, deadline });
  // Paced, a page is what an eighth of a second of the budget allows: readers of a database take turns.
  const limit = Math.max(1, Math.min(deps.pageRows ?? POSTGRES_PAGE_ROWS, Math.floor(reads.unitsPerRead ?? Infinity)));
  let client: Awaited<ReturnType<PostgresDeps['connect']>> | undefined;
  const part = new RecordPart(deps.exportBucket, request);
  let cursor = request.cursor;
  // Only the store's own failures become source errors; a failed write to staging stays what it is.
  try {
    const connected = await reads.read(() => deps.connect(source.database), 0, postgresErrorKind);
    client = connected;
    do {
      const statementTimeoutMs = Math.max(1000, Math.min(deps.statementTimeoutMs ?? 60_000, deadline - now()));
      // A page is paid for by its rows: `limit` reserved, what it did not return given back.
      const page = await reads.read(
        () => readPostgresPage(connected, source, { userId: request.userId, cursor, limit, statementTimeoutMs, range: request.range }),
        {
          estimate: limit,
          actual: (read) => read.rows,
        },
        postgresErrorKind,
      );
      await part.write(page.lines, page.rows, page.types);
      cursor = page.cursor;
    } while (cursor !== null && now() < deadline);
  } finally {
    await client?.end().catch(() => undefined);
  }
  return { ...request, cursor, nextPart: await part.close(), records: request.records + part.records, done: cursor === null };
}

/** The collector as CollectDatabaseSource runs it, with the connection its Runtime gives. */
export function collectPostgresSource(source: PostgresSource, request: CollectRequest, deps: CollectCall, deadline: number): Promise<CollectResult> {
  const connect = deps.connectDatabase;
  if (!connect) throw new SourceUnavailableError(source.id, `Source "${source.id}" reads a database, which only CollectDatabaseSource can connect to.`);
  return collectPostgres({ ...postgresRead(source), database: source.database }, request, { exportBucket: deps.exportBucket, connect, now: deps.now, reads: deps.reads }, deadline);
}
