// The PostgreSQL collector on the PGlite stand-in, staging into the file-backed S3 stand-in: a source of
// thousands of rows is read across calls cut by their budget, each call a staging part with its
// columns, every row of the user exactly once and in order, nobody else's; a store that cannot be read
// fails as the workflow expects (retried, or not).
import { systemClock } from '../../lambdas/core/platform/clock.ts';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RAW_TEXT_TYPES } from '../../lambdas/core/collect/connectors/postgres/reader.ts';
import { collectPostgres, type PostgresDeps } from '../../lambdas/core/collect/connectors/postgres/collector.ts';
import type { CollectRequest, CollectResult } from '../../lambdas/core/collect/reading.ts';
import { columnsKey, partKey } from '../../lambdas/core/storage/object-keys.ts';
import { FileBackedS3 } from '../../local/file-backed-s3.ts';
import { startPglite, type PostgresStandIn } from '../../lambdas/core/collect/connectors/postgres/local.ts';

/** Invoices in the table; every fifth is bob's, the rest (ROWS) ana's. */
const TOTAL = 2932;
const ROWS = TOTAL - Math.floor(TOTAL / 5);
const EXPORTS = 'exports';
const SOURCE = { id: 'invoices', database: 'marketplace', table: 'invoices', userColumn: 'buyer_id', orderBy: ['issued_on', 'invoice_no'], exclude: ['card_token'] };
const first: CollectRequest = { exportId: 'e-pg', userId: 'ana', sourceId: 'invoices', cursor: null, nextPart: 0, records: 0 };

let server: PostgresStandIn;
let folder: string;
let s3: FileBackedS3;

beforeAll(async () => {
  server = await startPglite();
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, database: server.database });
  await client.connect();
  await client.query(
    `CREATE TABLE invoices (invoice_no integer NOT NULL, issued_on date NOT NULL, buyer_id text NOT NULL, amount numeric NOT NULL, card_token text, PRIMARY KEY (issued_on, invoice_no))`,
  );
  // Several invoices a day, so the keyset runs over two columns; bob's interleave with ana's.
  await client.query(
    `INSERT INTO invoices SELECT g, DATE '2020-01-01' + g / 7, CASE WHEN g % 5 = 0 THEN 'bob' ELSE 'ana' END, (g * 1.01)::numeric(12, 2), 'tok_' || g FROM generate_series(1, $1::int) AS g`,
    [TOTAL],
  );
  await client.end();
  folder = mkdtempSync(join(tmpdir(), 'postgres-source-'));
  s3 = new FileBackedS3(folder);
});

afterAll(async () => {
  await server?.close();
  rmSync(folder, { recursive: true, force: true });
});

function deps(extra: Partial<PostgresDeps> = {}): PostgresDeps {
  const client = s3.asClient();
  return {
    exportBucket: { s3: client, bucket: EXPORTS, kmsKeyId: 'key' },
    connect: async () => {
      const connection = new pg.Client({ host: server.host, port: server.port, user: server.user, database: server.database, types: RAW_TEXT_TYPES });
      await connection.connect();
      return connection;
    },
    pageRows: 100,
    now: systemClock,
    ...extra,
  };
}

async function text(key: string): Promise<string> {
  const object = await s3.asClient().send(new GetObjectCommand({ Bucket: EXPORTS, Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of object.Body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('the PostgreSQL collector', () => {
  it('reads a large source across calls cut by their budget: every row of the user once, in order, nobody else’s', async () => {
    // Each page moves the clock on a second: a call of 3.5 s reads four pages and hands back its cursor.
    let clock = 0;
    const timed = deps({ now: () => new Date((clock += 1000)) });
    const calls: CollectResult[] = [];
    let result = await collectPostgres(SOURCE, first, timed, clock + 3500);
    calls.push(result);
    while (!result.done && calls.length < 100) {
      result = await collectPostgres(SOURCE, result, timed, clock + 3500);
      calls.push(result);
    }
    expect(result).toMatchObject({ done: true, records: ROWS, cursor: null, nextPart: calls.length });
    expect(calls.length).toBeGreaterThan(5);
    const lines: string[] = [];
    for (let part = 0; part < calls.length; part += 1) {
      lines.push(...(await text(partKey('e-pg', 'invoices', part))).trimEnd().split('\n'));
      expect(JSON.parse(await text(columnsKey('e-pg', 'invoices', part)))).toEqual([
        ['invoice_no', 'integer'],
        ['issued_on', 'date'],
        ['buyer_id', 'string'],
        ['amount', 'number'],
      ]);
    }
    const rows = lines.map((line) => JSON.parse(line) as { invoice_no: number; buyer_id: string });
    expect(rows).toHaveLength(ROWS);
    expect(rows.every((row) => row.buyer_id === 'ana')).toBe(true);
    expect(rows.map((row) => row.invoice_no)).toEqual([...rows.map((row) => row.invoice_no)].sort((a, b) => a - b));
    expect(new Set(rows.map((row) => row.invoice_no)).size).toBe(ROWS);
    expect(lines.join('\n')).not.toContain('tok_');
    expect(lines[0]).toBe('{"invoice_no":1,"issued_on":"2020-01-01","buyer_id":"ana","amount":1.01}');
  });

  it('fails a source whose table does not exist for good, and a database it cannot reach for a retry', async () => {
    await expect(collectPostgres({ ...SOURCE, table: 'no_such_table' }, { ...first, exportId: 'e-missing' }, deps(), Date.now() + 60_000)).rejects.toMatchObject({
      name: 'SourceUnavailableError',
      message: expect.stringContaining('Source "invoices" cannot be read (42P01): relation "no_such_table" does not exist') as string,
    });
    const refused = deps({
      connect: async () => {
        const connection = new pg.Client({ host: '127.0.0.1', port: 1, user: 'postgres', database: 'postgres' });
        await connection.connect();
        return connection;
      },
    });
    await expect(collectPostgres(SOURCE, { ...first, exportId: 'e-refused' }, refused, Date.now() + 60_000)).rejects.toMatchObject({
      name: 'SourceReadError',
      message: expect.stringContaining('Reading source "invoices" failed') as string,
    });
  });
});
