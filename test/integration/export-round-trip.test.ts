// The whole export against the emulators: real state machine, real handlers, demo data. Each test starts
// its own export and checks the archive the user downloads through the emailed link.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireItem } from '../../lambdas/core/values/attribute-values.ts';
import type { DynamoDbSource } from '../../lambdas/core/data-map/data-map.ts';
import type { Format } from '../../lambdas/core/data-map/identifiers.ts';
import { verifyArchive } from '../../local/archive-reader.ts';
import { buildDemoSeed, DEMO_USER_ID } from '../../local/demo-seed.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import { canonicalFromWire, canonicalItem, expectedCsvCell, expectedItems, parseCsvText, parseExportJson, sortRecords, type Canonical } from '../support/expectations.ts';
import { ARCHIVE_DOCUMENTS } from '../../lambdas/core/archive/manifest.ts';
import { exportAndDownload } from '../support/exported-archive.ts';

const seed = buildDemoSeed();
const outDir = mkdtempSync(join(tmpdir(), 'round-trip-'));
let stack: EmbeddedStack;

beforeAll(async () => {
  // A tiny collect budget makes every CollectSource call stop after one page or one object, so each
  // source loops through the state machine's cursor path many times.
  stack = await EmbeddedStack.start({ dataMapFile: 'config/data-map.json', collectBudgetSeconds: 0.001, retryIntervalMs: 0 });
  await stack.loadSeed(seed);
});

afterAll(async () => {
  await stack?.stop();
});

const exportUser = (userId: string, formats: Format[]) => exportAndDownload(stack, { userId, formats }, outDir);

/** Nested values sit in cells as JSON text; compare them parsed, numbers as digits. */
function normalizeNestedCell(cell: string): string {
  if (!cell.startsWith('[') && !cell.startsWith('{')) return cell;
  try {
    return JSON.stringify(parseExportJson(cell));
  } catch {
    return cell;
  }
}

const dynamoDbSources = () => stack.dataMap.sources.filter((s): s is DynamoDbSource => s.type === 'dynamodb');
const text = (entries: Map<string, Buffer>, path: string) => {
  const content = entries.get(path);
  if (!content) throw new Error(`${path} is not in the archive`);
  return content.toString('utf8');
};

describe('an export of the demo user, JSON and CSV', () => {
  let result: Awaited<ReturnType<typeof exportUser>>;
  beforeAll(async () => {
    result = await exportUser(DEMO_USER_ID, ['json', 'csv']);
  });

  it('holds every seeded record of every DynamoDB source exactly once, with exact values, in JSON', () => {
    for (const source of dynamoDbSources()) {
      const expected = expectedItems(seed, source, DEMO_USER_ID).map(canonicalItem);
      expect(expected.length, `seed has data for ${source.id}`).toBeGreaterThan(0);
      const actual = parseExportJson(text(result.entries, `${source.category}/${source.id}.json`)) as Canonical[];
      expect(sortRecords(actual), source.id).toEqual(sortRecords(expected));
    }
  });

  it('holds the same records in CSV, with key columns first and the formula guard on text cells only', () => {
    for (const source of dynamoDbSources()) {
      const expected = expectedItems(seed, source, DEMO_USER_ID);
      const { header, rows } = parseCsvText(text(result.entries, `${source.category}/${source.id}.csv`));
      const keys = [source.partitionKey, source.sortKey].filter((k): k is string => k !== undefined && expected.some((i) => k in i));
      expect(header.slice(0, keys.length), source.id).toEqual(keys);
      expect([...header.slice(keys.length)].sort(), source.id).toEqual(header.slice(keys.length));
      expect(new Set(header)).toEqual(new Set(expected.flatMap((i) => Object.keys(i))));
      const asCells = (item: WireItem) =>
        header.map((column) => {
          const cell = expectedCsvCell(item[column]);
          return typeof cell === 'string' ? cell : JSON.stringify(cell);
        });
      const fromCsv = rows.map((row) => row.map(normalizeNestedCell));
      expect(sortRecords(fromCsv), source.id).toEqual(sortRecords(expected.map(asCells)));
    }
  });

  it('keeps 38 significant digits, negative numbers, binary, sets, nesting, unicode and empty strings', () => {
    const account = parseExportJson(text(result.entries, 'account/account.json')) as Record<string, Canonical>[];
    const seeded = (seed.tables.Users ?? []).find((u) => u.userId && 'S' in u.userId && u.userId.S === DEMO_USER_ID);
    if (!seeded) throw new Error('demo seed lacks the demo user');
    const record = account[0] ?? {};
    for (const [name, value] of Object.entries(seeded)) {
      if (name === 'passwordHash' || name === 'mfaSecret') continue;
      expect(record[name], name).toEqual(canonicalFromWire(value));
    }
    expect(text(result.entries, 'account/account.json')).toContain('12345678901234567890.123456789012345678');
    const csv = parseCsvText(text(result.entries, 'account/account.csv'));
    const balance = csv.header.indexOf('creditBalance');
    expect(csv.rows[0]?.[balance]).toBe('-42.75');
  });

  it('copies the user’s S3 files byte for byte under safe paths, and no other user’s', () => {
    const prefix = `users/${DEMO_USER_ID}/attachments/`;
    const mine = seed.objects.filter((o) => o.key.startsWith(prefix));
    expect(mine.length).toBeGreaterThan(0);
    for (const object of mine) {
      const path = `communication/message-attachments/${object.key.slice(prefix.length)}`;
      expect(result.entries.get(path)?.equals(Buffer.from(object.base64, 'base64')), path).toBe(true);
    }
    const files = [...result.entries.keys()].filter((p) => p.startsWith('communication/message-attachments/'));
    expect(files).toHaveLength(mine.length);
  });

  it('contains no record and no file of any other user, not even one whose id starts with the same characters', () => {
    for (const source of dynamoDbSources()) {
      const records = parseExportJson(text(result.entries, `${source.category}/${source.id}.json`)) as Record<string, Canonical>[];
      const owner = source.keyTemplate.replaceAll('{userId}', DEMO_USER_ID);
      for (const record of records) expect(record[source.partitionKey], source.id).toBe(owner);
    }
    for (const [path, content] of result.entries) {
      expect(content.includes('u-10010'), path).toBe(false);
      expect(content.includes('u-1002'), path).toBe(false);
    }
  });

  it('never exports excluded fields or payment details outside the allow-list', () => {
    const secrets = ['passwordHash', 'mfaSecret', 'cardFingerprint', 'processorToken', 'panEncrypted'];
    const seededSecrets = Object.values(seed.tables)
      .flat()
      .flatMap((item) => secrets.map((name) => item[name]).filter((v): v is WireItem[string] => v !== undefined))
      .map((v) => ('S' in v ? v.S : JSON.stringify(v)));
    expect(seededSecrets.length).toBeGreaterThan(0);
    // The answer names what it withholds (about-this-export.json, index.html); no data file or the
    // manifest holds even the name, and no file at all the value.
    const namedOnlyIn = new Set<string>([ARCHIVE_DOCUMENTS.about, ARCHIVE_DOCUMENTS.index]);
    for (const [path, content] of result.entries) {
      const body = content.toString('utf8');
      if (!namedOnlyIn.has(path)) for (const name of secrets) expect(body.includes(name), `${name} in ${path}`).toBe(false);
      for (const value of seededSecrets) expect(body.includes(value), `secret value in ${path}`).toBe(false);
    }
  });

  it('has a manifest whose hashes, sizes and record counts match the bytes', async () => {
    const check = await verifyArchive(result.path);
    expect(check.problems).toEqual([]);
    expect(result.manifest.exportId).toBe(result.job.exportId);
    expect(result.manifest.userId).toBe(DEMO_USER_ID);
    expect(Number.isNaN(Date.parse(result.manifest.generatedAt))).toBe(false);
    for (const file of result.manifest.files.filter((f) => f.format === 'json')) {
      expect((parseExportJson(text(result.entries, file.path)) as unknown[]).length, file.path).toBe(file.records);
    }
    for (const file of result.manifest.files.filter((f) => f.format === 'csv')) {
      expect(parseCsvText(text(result.entries, file.path)).rows.length, file.path).toBe(file.records);
    }
    for (const source of result.manifest.sources) {
      expect(source.status).toBe('complete');
      expect(source.records, source.sourceId).toBe(result.job.sources[source.sourceId]?.records);
    }
    expect(new Set(result.manifest.sources.map((s) => s.category)).size).toBe(8);
  });

  it('has an index.html that names every category and links every file', () => {
    const page = text(result.entries, 'index.html');
    for (const title of [
      'Account information',
      'Payment information',
      'Profile data',
      'Communication data',
      'Usage data',
      'Device information',
      'Location data',
      'Performance data',
    ]) {
      expect(page).toContain(title);
    }
    for (const file of result.manifest.files) expect(page).toContain(`href="${file.path.split('/').map(encodeURIComponent).join('/')}"`);
    expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3)/);
  });

  it('serves through the emailed link exactly the bytes stored in the export bucket', async () => {
    const stored = await stack.s3.send(new GetObjectCommand({ Bucket: stack.exportBucket, Key: result.job.archiveKey }));
    const bytes = Buffer.from(await stored.Body!.transformToByteArray());
    expect(bytes.equals(result.zip)).toBe(true);
    expect(result.job.archiveBytes).toBe(bytes.length);
  });

  it('removes the staging parts once the archive is written', async () => {
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const listed = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.exportBucket, Prefix: `staging/${result.job.exportId}/` }));
    expect(listed.KeyCount ?? 0).toBe(0);
  });
});

describe('formats and size', () => {
  it('writes only CSV files when CSV alone is asked for', async () => {
    const { entries, manifest } = await exportUser('u-1002', ['csv']);
    expect(manifest.files.filter((f) => f.format === 'json')).toEqual([]);
    expect([...entries.keys()].filter((p) => p.endsWith('.json')).sort()).toEqual(
      Object.values(ARCHIVE_DOCUMENTS)
        .filter((p) => p.endsWith('.json'))
        .sort(),
    );
    for (const source of dynamoDbSources()) {
      const rows = parseCsvText(text(entries, `${source.category}/${source.id}.csv`)).rows;
      expect(rows.length, source.id).toBe(expectedItems(seed, source, 'u-1002').length);
    }
  });

  it('pages a source past DynamoDB’s 1 MB limit and loops until every record is in', async () => {
    const { job, entries } = await exportUser('u-heavy', ['json']);
    const usage = stack.dataMap.sources.find((s) => s.id === 'usage-events') as DynamoDbSource;
    const expected = expectedItems(seed, usage, 'u-heavy');
    expect(Buffer.byteLength(JSON.stringify(expected))).toBeGreaterThan(1024 * 1024);
    // One page per CollectSource call (tiny budget): more than one part means Query returned more than one page.
    expect(job.sources['usage-events']?.parts).toBeGreaterThan(1);
    const records = parseExportJson(text(entries, 'usage/usage-events.json')) as Record<string, Canonical>[];
    expect(records).toHaveLength(expected.length);
    expect(new Set(records.map((r) => r.eventId)).size).toBe(expected.length);
  });
});
