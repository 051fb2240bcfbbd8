// A database connection that ends under the collector (a proxy failover, an idle cut) fails the read
// it was serving, which the state machine retries; it never takes the process down with it.
import { createServer, Socket, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectPostgres } from '../../lambdas/core/collect/connectors/postgres/connection.ts';
import { startPglite, type PostgresStandIn } from '../../lambdas/core/collect/connectors/postgres/local.ts';

let database: PostgresStandIn;
let relay: Server;
const sockets: Socket[] = [];

beforeAll(async () => {
  database = await startPglite();
  // A relay between client and server whose sockets the test can cut, as a network would.
  relay = createServer((inbound) => {
    const outbound = new Socket().connect(database.port, database.host);
    sockets.push(inbound, outbound);
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => undefined);
    outbound.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => relay.close(() => resolve()));
  await database.close();
});

it('fails the next query, and nothing else, when the connection is cut', async () => {
  const { port } = relay.address() as { port: number };
  const client = await connectPostgres({ host: '127.0.0.1', port, user: database.user, database: database.database, password: 'local' });
  expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  const ended = new Promise((resolve) => client.once('end', resolve));
  for (const socket of sockets) socket.destroy();
  // The client has seen the end (and emitted 'error', which unheard would have been an uncaught exception).
  await ended;
  await expect(client.query('SELECT 1')).rejects.toThrow();
});
