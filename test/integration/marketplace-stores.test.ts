// The demo marketplace with every store type it keeps users in: DynamoDB, S3, PostgreSQL (PGlite on the
// embedded stack) and Cognito (cognito-local), exported whole through the real workflow. The same export
// then runs against Debian's PostgreSQL server, and every file the PostgreSQL sources wrote must be
// byte-identical: the stand-in is held to the real engine. Bad data maps and seeds are refused before
// anything runs, naming the file, the source and the field or statement.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyArchive } from '../../local/archive-reader.ts';
import type { Datapackage } from '../../local/datapackage-check.ts';
import { buildDemoSeed, DEMO_USER_ID } from '../../local/demo-seed.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import { startDebianPostgres } from '../support/postgres-server.ts';
import { answerable } from '../support/answer-facts.ts';
import { exportAndDownload } from '../support/exported-archive.ts';

const seed = buildDemoSeed();
const outDir = mkdtempSync(join(tmpdir(), 'marketplace-'));
const POSTGRES_SOURCES = ['orders', 'invoices', 'dealer-leads', 'reviews-written', 'reviews-about-me'];
let stack: EmbeddedStack;

beforeAll(async () => {
  stack = await EmbeddedStack.start({ dataMapFile: 'config/data-map.json', retryIntervalMs: 0 });
  await stack.loadSeed(seed);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const exportUser = (on: EmbeddedStack, userId: string) => exportAndDownload(on, { userId, formats: ['json', 'csv'] }, outDir);

const fileText = (entries: Map<string, Buffer>, path: string) => {
  const content = entries.get(path);
  if (!content) throw new Error(`${path} is not in the archive`);
  return content.toString('utf8');
};

describe('an export from every store type', () => {
  let exported: Awaited<ReturnType<typeof exportUser>>;
  beforeAll(async () => {
    exported = await exportUser(stack, DEMO_USER_ID);
  }, 120_000);

  it('keeps every PostgreSQL value to the last digit, and the excluded column never', () => {
    const orders = fileText(exported.entries, 'payment/orders.json');
    // Numbers as Postgres prints them: a bigint past 2^53 and numeric(38,10) with all its digits.
    expect(orders).toContain('"order_id":9007199254740993');
    expect(orders).toContain('"amount":12345678901234567890123456.1234567890');
    expect(orders).toContain('"ordered_at":"2026-05-01T12:03:07.123456Z"');
    expect(orders).toContain('"delivery_date":"2026-06-15"');
    expect(orders).not.toContain('card_token');
    expect(orders).not.toContain('tok_live');
    const [order] = JSON.parse(orders) as Record<string, unknown>[];
    expect(order?.options).toEqual(['tow hitch', 'winter "tyres"', null]);
    expect(order?.notes).toBe('=HYPERLINK("http://evil")\nsecond line, "quoted"');
    const invoices = fileText(exported.entries, 'payment/invoices.json');
    expect(invoices).toContain('"total":26744.19');
    expect(invoices).toContain('"tax_rate":0.1');
    expect(invoices).toContain('"pdf_sha256":"AP8Q"');
    expect(invoices).toContain('"price":12345678901234567890.5');
    expect(invoices).toContain('"price":1299.990');
    expect(invoices).toContain('"invoice_id":"00000000-0000-4000-8000-000000000001"');
    // A CSV cell that would be a formula is defused; the orderBy column comes first.
    const csv = fileText(exported.entries, 'payment/orders.csv');
    expect(
      csv
        .replace(/^\uFEFF/, '')
        .split('\r\n')[0]
        ?.startsWith('order_id,'),
    ).toBe(true);
    expect(csv).toContain(`"'=HYPERLINK(""http://evil"")`);
  });

  it('reads a query source that joins the user’s listings, with the reviewer’s identity redacted in JSON and CSV', () => {
    const about = JSON.parse(fileText(exported.entries, 'communication/reviews-about-me.json')) as Record<string, unknown>[];
    expect(about).toHaveLength(1);
    expect(Object.keys(about[0] ?? {})).toEqual(['review_id', 'reviewer_id', 'listing_id', 'vin', 'rating', 'body', 'written_at']);
    expect(about[0]?.listing_id).toBe(100);
    expect(about[0]?.reviewer_id).toBe("[redacted: another person's data]");
    const [header, row] = fileText(exported.entries, 'communication/reviews-about-me.csv')
      .replace(/^\uFEFF/, '')
      .split('\r\n');
    expect(header).toBe('review_id,reviewer_id,listing_id,vin,rating,body,written_at');
    expect(row?.split(',')[1]).toBe("[redacted: another person's data]");
  });

  it('holds the Cognito identity: attributes but the excluded one, status, groups', () => {
    const [identity] = JSON.parse(fileText(exported.entries, 'account/identity.json')) as Record<string, unknown>[];
    expect(identity).toMatchObject({ username: DEMO_USER_ID, enabled: true, status: 'FORCE_CHANGE_PASSWORD', groups: ['buyers', 'sellers'] });
    const attributes = identity?.attributes as Record<string, string>;
    expect(attributes.email).toBe('ana.ruiz@example.com');
    expect(attributes['custom:company']).toBe('Ruiz Landscaping LLC');
    expect(Object.keys(attributes)).not.toContain('custom:risk_score');
    expect(identity?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('counts every source in the manifest and holds nothing of any other user', () => {
    const sources = new Map(exported.manifest.sources.map((s) => [s.sourceId, s]));
    expect(sources.get('orders')).toMatchObject({ type: 'postgres', records: 1 });
    expect(sources.get('identity')).toMatchObject({ type: 'cognito', records: 1 });
    // A review of a dealer, and one of the next user's listing.
    expect(sources.get('reviews-written')?.records).toBe(2);
    const everything = [...exported.entries.values()].map((b) => b.toString('utf8')).join('\n');
    for (const other of ['u-10010', 'u-1002', 'u-heavy', 'Marcus Chen', 'Dale Hoffman']) expect(everything).not.toContain(other);
  });

  it('describes every file in datapackage.json, each PostgreSQL and Cognito CSV with a Table Schema its cells pass', async () => {
    expect((await verifyArchive(exported.path)).problems).toEqual([]);
    const { resources } = JSON.parse(fileText(exported.entries, 'datapackage.json')) as Datapackage;
    const fieldsOf = (path: string) => Object.fromEntries((resources.find((r) => r.path === path)?.schema?.fields ?? []).map((f) => [f.name, f.type]));
    expect(fieldsOf('payment/orders.csv')).toMatchObject({ order_id: 'integer', amount: 'number', ordered_at: 'datetime', delivery_date: 'date', options: 'array' });
    expect(fieldsOf('account/identity.csv')).toMatchObject({ username: 'string', enabled: 'boolean', createdAt: 'datetime', attributes: 'object', groups: 'array' });
  });

  it('writes byte-identical PostgreSQL files when the database is Debian’s PostgreSQL server', async () => {
    const real = await EmbeddedStack.start({ dataMapFile: 'config/data-map.json', retryIntervalMs: 0, postgresServer: startDebianPostgres });
    try {
      await real.loadSeed(seed);
      const again = await exportUser(real, DEMO_USER_ID);
      const files = exported.manifest.files.filter((f) => POSTGRES_SOURCES.includes(f.sourceId));
      expect(files.length).toBe(POSTGRES_SOURCES.length * 2);
      for (const file of files) expect(again.entries.get(file.path)?.equals(exported.entries.get(file.path) ?? Buffer.alloc(0)), file.path).toBe(true);
      // The Table Schemas come from pg_type: the real server's must be the stand-in's.
      const schemas = (entries: Map<string, Buffer>) => {
        const { resources } = JSON.parse(fileText(entries, 'datapackage.json')) as Datapackage;
        return files.filter((f) => f.format === 'csv').map((f) => resources.find((r) => r.path === f.path)?.schema);
      };
      expect(schemas(again.entries)).toEqual(schemas(exported.entries));
      expect(schemas(again.entries).every((schema) => (schema?.fields.length ?? 0) > 0)).toBe(true);
    } finally {
      await real.stop();
    }
  }, 180_000);
});

describe('bad data maps and seeds are refused before anything runs', () => {
  it('names the statement of a seed whose SQL fails', async () => {
    await expect(
      stack.loadSeed({ tables: {}, schemas: seed.schemas, objects: [], postgres: { marketplace: ['SELECT 1', 'INSERT INTO no_such_table VALUES (1)'] } }, 'The seed file bad.json'),
    ).rejects.toThrow(/The seed file bad\.json: postgres\.marketplace\[1\] failed \(42P01\): relation "no_such_table" does not exist\n {4}INSERT INTO no_such_table/);
  });

  it('names a seed store the data map does not declare', async () => {
    await expect(stack.loadSeed({ tables: {}, schemas: seed.schemas, objects: [], cognito: { staff: [] } }, 'The seed file bad.json')).rejects.toThrow(
      `The seed file bad.json does not fit the data map:\n  - cognito.staff names a store the data map's "userPools" does not declare`,
    );
  });

  it('names a source whose orderBy column its query does not return', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-map-'));
    const file = join(dir, 'map.json');
    writeFileSync(
      file,
      JSON.stringify(
        answerable({
          databases: { shop: { engine: 'postgres', database: 'shop' } },
          sources: [{ id: 'orders', category: 'payment', type: 'postgres', database: 'shop', query: 'SELECT amount FROM orders WHERE buyer = :userId', orderBy: ['order_id'] }],
        }),
      ),
    );
    const bad = await EmbeddedStack.start({ dataMapFile: file, retryIntervalMs: 0 });
    try {
      await expect(bad.loadSeed({ tables: {}, schemas: {}, objects: [], postgres: { shop: ['CREATE TABLE orders (order_id int, buyer text, amount numeric)'] } })).rejects.toThrow(
        `The data map file ${file}: Source "orders": the orderBy column "order_id" is not returned by its query.`,
      );
    } finally {
      await bad.stop();
    }
  }, 120_000);
});
