// A connection to a PostgreSQL source's database, as the collector, the seed loader and the probe use it.
import pg from 'pg';

/** How long a connection may take to open before the read fails (and the state machine retries it). */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A connected client. `pg` also emits 'error' on a client whose connection ends unexpectedly (a proxy
 * failover, an idle cut); unheard, that event would end the process. The query under way rejects with
 * the same error, which the collector names as a failed read, so the event itself is only listened to.
 */
export async function connectPostgres(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client({ connectionTimeoutMillis: CONNECT_TIMEOUT_MS, ...config });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
