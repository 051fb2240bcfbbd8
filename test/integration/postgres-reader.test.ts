// The PostgreSQL reader against two engines: PGlite through pglite-socket (the embedded stack's
// stand-in) and Debian's PostgreSQL server (the real thing). Every type's export JSON is checked to the
// last digit, pages follow the keyset without OFFSET, the user id is only ever a bind parameter, and
// both engines give byte-identical output.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RAW_TEXT_TYPES, readPostgresPage, type PostgresRead } from '../../lambdas/core/collect/connectors/postgres/reader.ts';
import { startPglite, type PostgresStandIn } from '../../lambdas/core/collect/connectors/postgres/local.ts';
import { startDebianPostgres } from '../support/postgres-server.ts';

const SCHEMA = [
  `CREATE DOMAIN money_cents AS bigint CHECK (VALUE >= 0)`,
  `CREATE TYPE order_state AS ENUM ('open', 'paid')`,
  `CREATE TABLE orders (
    order_id integer PRIMARY KEY, buyer_id text NOT NULL, total numeric, big bigint, small smallint, ratio real, share double precision,
    paid boolean, blob bytea, details jsonb, raw json, tags text[], grid integer[][], placed_at timestamptz, placed_on date, at_local timestamp,
    ref uuid, note text, cents money_cents, state order_state, wait interval, card_token text)`,
  `INSERT INTO orders VALUES
    (1, 'ana', 12345678901234567890.123456789, 9223372036854775807, -32768, 0.1, 0.1, true, '\\x00ff10', '{"b": 1.10, "a": [1, 2e3, "x"]}', '{"z":1,  "z":2e400}',
     ARRAY['a b', 'c,"d"', NULL, 'NULL', '{}'], '{{1,2},{3,4}}', '2024-02-29 23:59:59.5+02', '2024-02-29', '2024-01-02 03:04:05', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     E'line\\nbreak \\u202e "quoted" =cmd', 42, 'paid', '1 day 02:03:04', 'tok_secret'),
    (2, 'ana', 'NaN', -1, 0, 'Infinity', '-0', false, '', 'null', '[]', '{}', '{}', 'infinity', '0044-03-15 BC', NULL, NULL, '', 0, 'open', NULL, NULL),
    (3, 'ana', NULL, NULL, NULL, 1e-38, 1.7976931348623157e308, NULL, NULL, NULL, NULL, NULL, NULL, '0001-01-01 00:00:00+00', '9999-12-31', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (4, 'bob', 1, 1, 1, 1, 1, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'bob''s', NULL, NULL, NULL, NULL),
    (5, 'x'' OR ''1''=''1', 1, 1, 1, 1, 1, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'the hostile id''s own row', NULL, NULL, NULL, NULL)`,
  `CREATE SEQUENCE side_effects`,
  `CREATE TABLE keyed (owner text NOT NULL, k numeric, note text, v int2vector, price money DEFAULT 12.34)`,
  `INSERT INTO keyed VALUES ('nulls', 1, 'a', '1 2'), ('nulls', 2, 'b', '3'), ('nulls', NULL, 'c', '4'),
    ('twins', 1, 'a', '1'), ('twins', 2, 'b', '2'), ('twins', 2, 'c', '3'), ('twins', 3, 'd', '4'),
    ('scales', 1, 'a', '1'), ('scales', 2.0, 'b', '2'), ('scales', 2.00, 'c', '3'), ('scales', 3, 'd', '4'),
    ('plain', 1, ':userId', '1 2 3'), ('plain', 2, 'x', '5')`,
  `CREATE TABLE listings (listing_id integer PRIMARY KEY, seller_id text NOT NULL)`,
  `CREATE TABLE reviews (review_id integer PRIMARY KEY, listing_id integer NOT NULL, body text)`,
  `INSERT INTO listings VALUES (10, 'ana'), (11, 'bob')`,
  `INSERT INTO reviews SELECT g, CASE WHEN g % 3 = 0 THEN 11 ELSE 10 END, 'review ' || g FROM generate_series(1, 250) AS g`,
];

const ORDERS: PostgresRead = { id: 'orders', table: 'orders', userColumn: 'buyer_id', orderBy: ['order_id'], exclude: ['card_token'] };
const REVIEWS_ABOUT_ME: PostgresRead = {
  id: 'reviews-about-me',
  query: 'SELECT r.* FROM reviews r JOIN listings l ON l.listing_id = r.listing_id WHERE l.seller_id = :userId',
  orderBy: ['review_id'],
};

const EXPECTED_ANA = [
  '{"order_id":1,"buyer_id":"ana","total":12345678901234567890.123456789,"big":9223372036854775807,"small":-32768,"ratio":0.1,"share":0.1,"paid":true,"blob":"AP8Q","details":{"a":[1,2000,"x"],"b":1.10},"raw":{"z":2e400},"tags":["a b","c,\\"d\\"",null,"NULL","{}"],"grid":[[1,2],[3,4]],"placed_at":"2024-02-29T21:59:59.500000Z","placed_on":"2024-02-29","at_local":"2024-01-02 03:04:05","ref":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","note":"line\\nbreak \u202e \\"quoted\\" =cmd","cents":42,"state":"paid","wait":"1 day 02:03:04"}',
  '{"order_id":2,"buyer_id":"ana","total":"NaN","big":-1,"small":0,"ratio":"Infinity","share":-0,"paid":false,"blob":"","details":null,"raw":[],"tags":[],"grid":[],"placed_at":"infinity","placed_on":"-000043-03-15","at_local":null,"ref":null,"note":"","cents":0,"state":"open","wait":null}',
  '{"order_id":3,"buyer_id":"ana","total":null,"big":null,"small":null,"ratio":1e-38,"share":1.7976931348623157e+308,"paid":null,"blob":null,"details":null,"raw":null,"tags":null,"grid":null,"placed_at":"0001-01-01T00:00:00.000000Z","placed_on":"9999-12-31","at_local":null,"ref":null,"note":null,"cents":null,"state":null,"wait":null}',
];

interface Engine {
  name: string;
  start: () => Promise<PostgresStandIn>;
}
const ENGINES: Engine[] = [
  { name: 'PGlite (pglite-socket)', start: startPglite },
  { name: "Debian's PostgreSQL server", start: startDebianPostgres },
];
const outputs = new Map<string, string[]>();

describe.each(ENGINES)('the PostgreSQL reader on $name', ({ name, start }) => {
  let server: PostgresStandIn;
  let client: pg.Client;

  beforeAll(async () => {
    server = await start();
    client = new pg.Client({ host: server.host, port: server.port, user: server.user, database: server.database, types: RAW_TEXT_TYPES });
    await client.connect();
    for (const statement of SCHEMA) await client.query(statement);
  }, 60_000);

  afterAll(async () => {
    await client?.end();
    await server?.close();
  });

  const read = (source: PostgresRead, userId: string, cursor: string | null = null, limit = 100) =>
    readPostgresPage(client, source, { userId, cursor, limit, statementTimeoutMs: 10_000 });

  it('writes every type of the user’s rows exactly, and nothing excluded', async () => {
    const page = await read(ORDERS, 'ana');
    expect(page.lines.trimEnd().split('\n')).toEqual(EXPECTED_ANA);
    expect(page.columns).not.toContain('card_token');
    expect(page.lines).not.toContain('tok_secret');
    expect(page.cursor).toBeNull();
    outputs.set(`${name} orders`, page.lines.split('\n'));
  });

  it('keeps a column named __proto__ like any other', async () => {
    const page = await read({ id: 'odd', query: `SELECT order_id, 'kept' AS "__proto__" FROM orders WHERE buyer_id = :userId`, orderBy: ['order_id'] }, 'ana');
    expect(page.lines).toContain('"__proto__":"kept"');
  });

  it('reads nothing of anyone’s for a user id written as SQL', async () => {
    const hostile = await read(ORDERS, "x' OR '1'='1");
    expect(hostile.rows).toBe(1);
    expect(hostile.lines).toContain("the hostile id's own row");
    expect((await read(ORDERS, "ana' --")).rows).toBe(0);
    expect((await read(REVIEWS_ABOUT_ME, "' OR 1=1 --")).rows).toBe(0);
  });

  it('reads nothing for a user id its user column’s type cannot hold, and still fails a query whose own cast fails', async () => {
    await client.query('CREATE TABLE IF NOT EXISTS numbered_users (account_no integer PRIMARY KEY, note text, owner uuid)');
    await client.query(`INSERT INTO numbered_users VALUES (1001, 'abc', '00000000-0000-4000-8000-000000000001') ON CONFLICT DO NOTHING`);
    const byNumber: PostgresRead = { id: 'numbered', table: 'numbered_users', userColumn: 'account_no', orderBy: ['account_no'] };
    expect((await read(byNumber, '1001')).rows).toBe(1);
    for (const id of ['zoe', "x' OR '1'='1", '99999999999', '1001.5']) expect((await read(byNumber, id)).rows, id).toBe(0);
    expect((await read({ ...byNumber, userColumn: 'owner' }, 'u-1001')).rows).toBe(0);
    // The same class of error from the data, not the user id: the source cannot be read as written.
    await expect(
      read({ id: 'casting', query: 'SELECT account_no, note::int AS n FROM numbered_users WHERE account_no = :userId', orderBy: ['account_no'] }, '1001'),
    ).rejects.toMatchObject({
      code: '22P02',
    });
  });

  it('pages a query joining other tables by keyset until the last row, each row once', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await read(REVIEWS_ABOUT_ME, 'ana', cursor, 40);
      seen.push(
        ...page.lines
          .trimEnd()
          .split('\n')
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { review_id: number }).review_id),
      );
      cursor = page.cursor;
      pages += 1;
    } while (cursor !== null && pages < 20);
    const expected = Array.from({ length: 250 }, (_, i) => i + 1).filter((g) => g % 3 !== 0);
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 40) + (expected.length % 40 === 0 ? 1 : 0));
    outputs.set(`${name} reviews`, seen.map(String));
  });

  it('refuses an order that is not unique or not returned, naming the source', async () => {
    await expect(read({ ...ORDERS, orderBy: ['buyer_id'] }, 'ana')).rejects.toThrow(
      'Source "orders" has two rows with the same orderBy (buyer_id); orderBy must name columns that together are unique.',
    );
    await expect(read({ ...REVIEWS_ABOUT_ME, query: 'SELECT review_id AS id FROM reviews WHERE body <> :userId' }, 'ana')).rejects.toThrow(
      'Source "reviews-about-me": the orderBy column "review_id" is not returned by its query.',
    );
  });

  it('refuses an include or exclude naming a column the result does not return, so a typo never exports the column it meant', async () => {
    await expect(read({ ...ORDERS, exclude: ['card_tokn'] }, 'ana')).rejects.toThrow(
      /^Source "orders": its exclude names "card_tokn", which its table does not return \(it returns "order_id", /,
    );
    await expect(read({ ...ORDERS, exclude: undefined, include: ['order_id', 'Amount'] }, 'ana')).rejects.toThrow('Source "orders": its include names "Amount"');
  });

  it('refuses keys that are NULL or repeat, on any page and by the type’s own equality, instead of skipping rows', async () => {
    const KEYED: PostgresRead = { id: 'keyed', table: 'keyed', userColumn: 'owner', orderBy: ['k'] };
    await expect(read(KEYED, 'nulls', null, 2)).rejects.toThrow('Source "keyed" has a row whose orderBy (k) is NULL; orderBy must name columns that are never NULL.');
    const repeated = 'Source "keyed" has two rows with the same orderBy (k); orderBy must name columns that together are unique.';
    await expect(read(KEYED, 'twins', null, 2)).rejects.toThrow(repeated);
    await expect(read(KEYED, 'scales', null, 2)).rejects.toThrow(repeated);
  });

  it('binds :userId only in code, not in literals or comments, and takes a query ending in a comment or semicolon', async () => {
    const QUERY: PostgresRead = { id: 'plain', query: "SELECT k, note, v FROM keyed WHERE owner = :userId AND note <> ':userId' -- mine only;\n;", orderBy: ['k'] };
    const page = await read(QUERY, 'plain');
    expect(page.lines).toBe('{"k":2,"note":"x","v":"5"}\n');
    const vectors = await read({ id: 'plain', table: 'keyed', userColumn: 'owner', orderBy: ['k'] }, 'plain');
    expect(vectors.lines.split('\n')[0]).toBe('{"owner":"plain","k":1,"note":":userId","v":"1 2 3","price":"$12.34"}');
    await expect(read({ ...QUERY, query: 'SELECT * FROM keyed' }, 'plain')).rejects.toThrow(
      'Source "plain": its query must contain :userId, or every user would read the same rows.',
    );
  });

  it('reads inside a READ ONLY transaction', async () => {
    await expect(read({ ...REVIEWS_ABOUT_ME, query: "SELECT * FROM reviews WHERE body <> :userId AND nextval('side_effects') > 0" }, 'ana')).rejects.toThrow(
      'cannot execute nextval() in a read-only transaction',
    );
    expect((await client.query('SELECT count(*) AS n FROM reviews')).rows[0]).toEqual({ n: '250' });
  });
});

describe('the two engines', () => {
  it('give byte-identical output', () => {
    const [pglite, debian] = ENGINES.map((engine) => [outputs.get(`${engine.name} orders`), outputs.get(`${engine.name} reviews`)]);
    expect(pglite?.[0]).toBeDefined();
    expect(pglite).toEqual(debian);
  });
});
