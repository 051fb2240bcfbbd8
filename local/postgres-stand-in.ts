// PostgreSQL on the embedded stack: PGlite (real Postgres compiled to WebAssembly, in this process)
// served over the wire protocol by pglite-socket, so the collector's `pg` code is the code that runs
// against RDS. One database per `databases` entry of the data map, each on a free loopback port.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface PostgresStandIn {
  host: string;
  port: number;
  /** The role and database to connect as; PGlite accepts any password. */
  user: string;
  database: string;
  close(): Promise<void>;
}

export async function startPglite(): Promise<PostgresStandIn> {
  const db = await PGlite.create();
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
