// PostgreSQL on the embedded stack: PGlite (real Postgres compiled to WebAssembly, in a process of its own)
// served over the wire protocol by pglite-socket, so the collector's `pg` code is the code that runs
// against RDS. One server per `databases` entry of the data map, each on a free loopback port. The seed
// loader runs a seed's statements through the same driver, and every source is tried once against its
// database, so a query that fails or an orderBy it does not return is refused before an export runs.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { DataMapError, SeedError } from '../../../platform/errors.ts';
import type { PostgresSource } from './schema.ts';
import { connectPostgres } from './connection.ts';
import { postgresRead, readPostgresPage } from './reader.ts';

export interface PostgresStandIn {
  host: string;
  port: number;
  /** The role and database to connect as; PGlite accepts any password. */
  user: string;
  database: string;
  close(): Promise<void>;
}

const NODE_MODULES = join(import.meta.dirname, '..', '..', '..', '..', '..', 'node_modules');
const CACHE_DIR = join(NODE_MODULES, '.cache', 'user-data-export', 'pglite');

/**
 * A fresh database. Initializing one (initdb inside PGlite) takes seconds; loading the data directory
 * of one initialized earlier by the same PGlite takes a fraction of that, and is the same database. So
 * the first start on a machine saves its fresh data directory under node_modules/.cache, per PGlite
 * version, and later starts load it.
 */
async function freshDatabase(): Promise<PGlite> {
  // The package exports no package.json; its version is read from the file itself.
  const version = (JSON.parse(readFileSync(join(NODE_MODULES, '@electric-sql', 'pglite', 'package.json'), 'utf8')) as { version: string }).version;
  const file = join(CACHE_DIR, `fresh-${version}.tar`);
  if (existsSync(file)) return PGlite.create({ loadDataDir: new Blob([readFileSync(file)]) });
  const db = await PGlite.create();
  const dump = Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer());
  mkdirSync(CACHE_DIR, { recursive: true });
  // Written whole, then renamed: a start that reads it never sees half a file.
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, dump);
  renameSync(partial, file);
  return db;
}

export async function startPglite(): Promise<PostgresStandIn> {
  const db = await freshDatabase();
  // Several connections share the one database through the server's queue, as a pool of clients would.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  const port = Number(server.getServerConn().split(':').at(-1));
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    close: async () => {
      await server.stop();
      await db.close();
    },
  };
}

/** The connection settings of a stand-in, as `pg` takes them. */
export const connectionOf = (standIn: Pick<PostgresStandIn, 'host' | 'port' | 'user' | 'database'>): pg.ClientConfig => ({
  host: standIn.host,
  port: standIn.port,
  user: standIn.user,
  database: standIn.database,
  password: 'local',
});

async function withClient<T>(config: pg.ClientConfig, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectPostgres(config);
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs a seed's statements for one database in order; the first that fails stops the load, named. */
export async function seedPostgres(config: pg.ClientConfig, database: string, statements: string[], origin: string): Promise<number> {
  return withClient(config, async (client) => {
    for (const [i, statement] of statements.entries()) {
      try {
        await client.query(statement);
      } catch (error) {
        const code = (error as { code?: string }).code;
        const text = statement.length > 200 ? `${statement.slice(0, 200)}…` : statement;
        throw new SeedError(`${origin}: postgres.${database}[${i}] failed${code ? ` (${code})` : ''}: ${(error as Error).message}\n    ${text}`, { cause: error });
      }
    }
    return statements.length;
  });
}

/**
 * Reads one page of each source for no user at all (a NULL id): a query that does not run, a table that
 * is not there, or an orderBy column the result lacks is the data map's mistake, named with its file.
 */
export async function probePostgresSources(config: (database: string) => pg.ClientConfig, sources: PostgresSource[], origin: string): Promise<void> {
  for (const source of sources) {
    await withClient(config(source.database), async (client) => {
      try {
        // A NULL user id matches no row of any column type, and the statement still runs whole.
        await readPostgresPage(client, postgresRead(source), { userId: null, cursor: null, limit: 1, statementTimeoutMs: 10_000 });
      } catch (error) {
        const code = (error as { code?: string }).code;
        const message = (error as Error).message;
        const named = message.startsWith(`Source "${source.id}"`)
          ? message
          : `Source "${source.id}" cannot be read from database "${source.database}"${code ? ` (${code})` : ''}: ${message}`;
        throw new DataMapError(`${origin}: ${named}`, { cause: error });
      }
    });
  }
}
