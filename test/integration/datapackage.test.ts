// datapackage.json of a real export, through the embedded stack: DynamoDB items of mixed types, a
// PostgreSQL table of every type the Table Schema mapping knows (PGlite), a Cognito identity
// (cognito-local) and S3 files. The descriptor must pass the vendored Frictionless profiles, describe
// every file exactly, and type each CSV column so that every one of its cells validates.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Format } from '../../lambdas/core/data-map/identifiers.ts';
import { verifyArchive } from '../../local/archive-reader.ts';
import { csvProblems, datapackageProblems, type Datapackage, type Resource } from '../../local/datapackage-check.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import { answerable } from '../support/answer-facts.ts';
import { exportAndDownload } from '../support/exported-archive.ts';

const USER = 'dp-user';
const dir = mkdtempSync(join(tmpdir(), 'datapackage-'));
const mapFile = join(dir, 'data-map.json');
writeFileSync(
  mapFile,
  JSON.stringify(
    answerable({
      databases: { shop: { engine: 'postgres', database: 'shop' } },
      userPools: { customers: {} },
      sources: [
        {
          id: 'events',
          category: 'usage',
          type: 'dynamodb',
          table: 'DpEvents',
          partitionKey: 'userId',
          sortKey: 'sk',
          keyTemplate: '{userId}',
          fields: { count: 'How many times.', '=total': 'A name the formula guard quotes.', ghost: 'No item has this attribute.' },
        },
        {
          id: 'orders',
          category: 'payment',
          type: 'postgres',
          database: 'shop',
          table: 'orders',
          userColumn: 'buyer_id',
          orderBy: ['order_id'],
          fields: { amount: 'What you paid.' },
        },
        { id: 'identity', category: 'account', type: 'cognito', userPool: 'customers', match: 'username', fields: { username: 'Your sign-in name.' } },
        { id: 'uploads', category: 'communication', type: 's3', bucket: 'dp-uploads', prefix: 'users/{userId}/' },
      ],
    }),
  ),
);

const ORDERS = `CREATE TABLE orders (
  order_id bigint PRIMARY KEY, buyer_id text NOT NULL, qty integer, small smallint, amount numeric(12,3), ratio double precision,
  weird double precision, placed_at timestamptz, local_at timestamp, due date, at_time time, meta jsonb, meta_mixed jsonb,
  tags text[], scores int[], pdf bytea, ref uuid, ok boolean, note text, spell interval)`;
const ROWS = `INSERT INTO orders VALUES
  (1, '${USER}', 3, -2, 1.500, 0.5, 1.5, '2026-05-01 12:03:07.123456+00', '2026-05-01 12:03:07', '2026-06-15', '12:30:00', '{"a": 1}', '{"a": 1}',
   '{"tow hitch","winter"}', '{1,2}', '\\x00ff', '00000000-0000-4000-8000-000000000001', true, '-not a formula', '1 day'),
  (2, '${USER}', NULL, 7, 'NaN', 'NaN', 'Infinity', '2026-05-02 00:00:00+00', '2026-05-02 08:00:00.5', '2026-06-16', '23:59:59.5', '{"b": [1]}', '[1]',
   '{}', '{}', '\\x0102', '00000000-0000-4000-8000-000000000002', false, 'plain', '2 hours'),
  (3, 'someone-else', 1, 1, 1, 1, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`;

let stack: EmbeddedStack;
const outDir = mkdtempSync(join(tmpdir(), 'datapackage-out-'));

beforeAll(async () => {
  stack = await EmbeddedStack.start({ dataMapFile: mapFile, retryIntervalMs: 0 });
  const s = (S: string) => ({ S });
  await stack.loadSeed({
    postgres: { shop: [ORDERS, ROWS] },
    cognito: { customers: [{ username: USER, attributes: { email: 'dp@example.com' }, groups: ['buyers'], enabled: true }] },
    tables: {
      DpEvents: [
        {
          userId: s(USER),
          sk: s('EVT#1'),
          count: { N: '5' },
          flag: { BOOL: true },
          payload: { M: { a: { N: '1' } } },
          tags: { SS: ['x', 'y'] },
          blob: { B: 'AAEC' },
          blobs: { B: 'AAEC' },
          mixed: { N: '1' },
          sometimes: { NULL: true },
          onlyNull: { NULL: true },
          '=total': { N: '-42.75' },
        },
        { userId: s(USER), sk: s('EVT#2'), count: { N: '12345678901234567890.123456789012345678' }, flag: { BOOL: false }, payload: { M: {} }, tags: { L: [s('z')] } },
        // Base64 that starts with "+" is guarded in the CSV, so `blobs` is text there, not binary.
        { userId: s(USER), sk: s('EVT#3'), blob: { B: 'AQID' }, blobs: { B: '+AAA' }, mixed: s('one'), sometimes: { N: '3' }, onlyNull: { NULL: true } },
      ],
    },
    schemas: {},
    objects: [
      { bucket: 'dp-uploads', key: `users/${USER}/scan.pdf`, base64: Buffer.from('%PDF-1.4 scan').toString('base64') },
      { bucket: 'dp-uploads', key: `users/${USER}/Fotos/Straße 1.JPG`, base64: Buffer.from('jpeg bytes').toString('base64') },
    ],
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function exportUser(formats: Format[]) {
  const exported = await exportAndDownload(stack, { userId: USER, formats }, outDir);
  return { ...exported, descriptor: exported.json<Datapackage>('datapackage.json'), exportId: exported.job.exportId };
}

const resource = (descriptor: Datapackage, path: string): Resource => {
  const found = descriptor.resources.find((r) => r.path === path);
  if (!found) throw new Error(`datapackage.json has no resource for ${path}`);
  return found;
};
const types = (r: Resource) => Object.fromEntries((r.schema?.fields ?? []).map((f) => [f.name, f.format ? `${f.type}:${f.format}` : f.type]));

describe('datapackage.json of an export from every store type, JSON and CSV', () => {
  let exported: Awaited<ReturnType<typeof exportUser>>;
  beforeAll(async () => {
    exported = await exportUser(['json', 'csv']);
  }, 120_000);

  it('passes the Frictionless profiles and describes every other file exactly once, with its size and sha256', async () => {
    expect(datapackageProblems(exported.entries)).toEqual([]);
    // The demo's verifier reads the same archive from disk, CSVs streamed a second time.
    expect((await verifyArchive(exported.path)).problems).toEqual([]);
    const paths = exported.descriptor.resources.map((r) => r.path);
    expect([...paths].sort()).toEqual([...exported.entries.keys()].filter((p) => p !== 'datapackage.json').sort());
    expect(exported.descriptor).toMatchObject({ profile: 'data-package', id: exported.exportId });
  });

  it('types a DynamoDB source’s columns from its attribute types, mixed ones as any', () => {
    const events = resource(exported.descriptor, 'usage/events.csv');
    expect(types(events)).toEqual({
      userId: 'string',
      sk: 'string',
      "'=total": 'number',
      blob: 'string:binary',
      blobs: 'string',
      count: 'number',
      flag: 'boolean',
      mixed: 'any',
      onlyNull: 'any',
      payload: 'object',
      sometimes: 'number',
      tags: 'array',
    });
    const fields = events.schema?.fields ?? [];
    expect(fields.find((f) => f.name === 'count')).toMatchObject({ description: 'How many times.' });
    expect(fields.find((f) => f.name === "'=total")).toMatchObject({ description: 'A name the formula guard quotes.' });
    expect(events).toMatchObject({
      format: 'csv',
      mediatype: 'text/csv',
      encoding: 'utf-8',
      dialect: { lineTerminator: '\r\n', quoteChar: '"', doubleQuote: true, byteOrderMark: true },
    });
    // The header after the byte-order mark is the schema's field names, in order.
    const header = exported.entries.get('usage/events.csv')?.toString('utf8').split('\r\n')[0];
    expect(header).toBe(`\ufeff${fields.map((f) => f.name).join(',')}`);
  });

  it('types a PostgreSQL source’s columns from its column types, and a float column that holds Infinity as any', () => {
    const orders = resource(exported.descriptor, 'payment/orders.csv');
    expect(types(orders)).toEqual({
      order_id: 'integer',
      buyer_id: 'string',
      qty: 'integer',
      small: 'integer',
      amount: 'number',
      ratio: 'number',
      weird: 'any',
      placed_at: 'datetime',
      local_at: 'datetime:any',
      due: 'date',
      at_time: 'time',
      meta: 'object',
      meta_mixed: 'any',
      tags: 'array',
      scores: 'array',
      pdf: 'string:binary',
      ref: 'string:uuid',
      ok: 'boolean',
      note: 'string',
      spell: 'string',
    });
    expect(orders.schema?.fields.find((f) => f.name === 'amount')).toMatchObject({ description: 'What you paid.' });
  });

  it('types the Cognito identity’s record', () => {
    expect(types(resource(exported.descriptor, 'account/identity.csv'))).toEqual({
      username: 'string',
      status: 'string',
      enabled: 'boolean',
      createdAt: 'datetime',
      modifiedAt: 'datetime',
      attributes: 'object',
      mfa: 'object',
      groups: 'array',
    });
  });

  it('refuses a schema that types a column wrongly, so the checks above could fail', () => {
    const orders = resource(exported.descriptor, 'payment/orders.csv');
    const content = exported.entries.get('payment/orders.csv') ?? Buffer.alloc(0);
    const retyped = (name: string, type: string): Resource => ({
      ...orders,
      schema: { fields: (orders.schema?.fields ?? []).map((f) => (f.name === name ? { name, type } : f)) },
    });
    expect(csvProblems(retyped('weird', 'number'), content)).toEqual(['payment/orders.csv row 2: field "weird" (number): "Infinity" is not such a value']);
    expect(csvProblems(retyped('meta_mixed', 'object'), content)).toEqual(['payment/orders.csv row 2: field "meta_mixed" (object): "[1]" is not such a value']);
    expect(csvProblems(retyped('local_at', 'datetime'), content)).toHaveLength(2);
    expect(csvProblems(retyped('note', 'integer'), content)).toHaveLength(2);
  });

  it('describes JSON, the S3 files by their extension, and the files written whole', () => {
    expect(resource(exported.descriptor, 'usage/events.json')).toMatchObject({ format: 'json', mediatype: 'application/json', encoding: 'utf-8' });
    expect(resource(exported.descriptor, 'communication/uploads/scan.pdf')).toMatchObject({ name: 'communication/uploads/scan.pdf', format: 'pdf', mediatype: 'application/pdf' });
    expect(resource(exported.descriptor, 'communication/uploads/Fotos/Straße 1.JPG')).toMatchObject({
      name: 'communication/uploads/fotos/stra-e-1.jpg',
      format: 'jpg',
      mediatype: 'image/jpeg',
    });
    expect(resource(exported.descriptor, 'index.html')).toMatchObject({ format: 'html', mediatype: 'text/html' });
    expect(resource(exported.descriptor, 'manifest.json')).toMatchObject({ format: 'json', mediatype: 'application/json' });
  });
});

describe('datapackage.json of a JSON-only export', () => {
  it('has no tabular resource and is still valid and complete', async () => {
    const { entries, descriptor } = await exportUser(['json']);
    expect(datapackageProblems(entries)).toEqual([]);
    expect(descriptor.resources.filter((r) => r.profile === 'tabular-data-resource')).toEqual([]);
  }, 120_000);
});
