// `npm run demo` as a newcomer and the acceptance checks run it: a child process, real flags, a data map
// and seed it has never seen, and exit codes that mean what they say.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readArchive, verifyArchive } from '../../local/archive-reader.ts';
import { ANSWER_FACTS } from '../support/answer-facts.ts';

const dir = mkdtempSync(join(tmpdir(), 'demo-cli-'));

function demo(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/demo.ts', ...args], { encoding: 'utf8', timeout: 120_000 });
  const lines = result.stdout.trim().split('\n');
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, lastLine: lines.at(-1) ?? '' };
}

function writeJson(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value, null, 2));
  return path;
}

// The minimum shape from docs/architecture.md, "The data map", with data for two users.
const minimalMap = writeJson('map.json', {
  sources: [
    { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}', exclude: ['passwordHash'] },
    { id: 'usage-events', category: 'usage', type: 'dynamodb', table: 'UsageEvents', index: 'byUser', partitionKey: 'userId', keyTemplate: '{userId}' },
    { id: 'messages', category: 'communication', type: 'dynamodb', table: 'Messages', partitionKey: 'userId', keyTemplate: '{userId}', sortKey: 'sk', sortKeyPrefix: 'MSG#' },
    { id: 'attachments', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
  ],
});
const seed = {
  tables: {
    Users: [
      { userId: { S: 'alice' }, name: { S: 'Alice' }, passwordHash: { S: 'argon2$secret' }, score: { N: '-1.50' } },
      { userId: { S: 'alice2' }, name: { S: 'Not Alice' } },
    ],
    UsageEvents: [
      { eventId: { S: 'e1' }, userId: { S: 'alice' }, at: { S: '2026-01-01T00:00:00Z' } },
      { eventId: { S: 'e2' }, userId: { S: 'alice2' }, at: { S: '2026-01-02T00:00:00Z' } },
    ],
    Messages: [
      { userId: { S: 'alice' }, sk: { S: 'MSG#1' }, body: { S: '=1+1' } },
      { userId: { S: 'alice' }, sk: { S: 'DRAFT#1' }, body: { S: 'not a message' } },
    ],
  },
  schemas: { UsageEvents: { partitionKey: 'eventId', indexes: { byUser: { partitionKey: 'userId' } } } },
  objects: [
    // s3rver normalises "/../" on its disk, so traversal arrives as backslashes here (S3 keeps both verbatim).
    { bucket: 'uploads', key: 'users/alice/..\\..\\evil.txt', base64: Buffer.from('x').toString('base64') },
    { bucket: 'uploads', key: 'users/alice/photo.png', base64: Buffer.from('png-bytes').toString('base64') },
    { bucket: 'uploads', key: 'users/alice2/other.png', base64: Buffer.from('nope').toString('base64') },
  ],
};
const seedFile = writeJson('seed.json', seed);

describe('npm run demo', () => {
  it('with no flags exports the demo user through the whole flow and prints the ZIP path, all eight categories inside', async () => {
    const out = join(dir, 'default');
    const run = demo('--out', out);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Workflow succeeded/);
    expect(run.stdout).toMatch(/Email to .*: "Your data export is ready to download"/);
    expect(dirname(run.lastLine)).toBe(out);
    const check = await verifyArchive(run.lastLine);
    expect(check.problems).toEqual([]);
    expect(new Set(check.manifest.sources.map((s) => s.category))).toEqual(
      new Set(['account', 'payment', 'profile', 'communication', 'usage', 'device', 'location', 'performance']),
    );
  });

  it('runs any valid data map and seed for the named user, with every flag', async () => {
    const out = join(dir, 'custom');
    const run = demo('--data-map', minimalMap, '--seed', seedFile, '--user', 'alice', '--format', 'both', '--out', out);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(run.lastLine)).toBe(true);
    // A map written before the answer carried legal facts still runs; the demo and the answer say what it lacks.
    expect(run.stdout).toContain('Warning: the data map states no legal facts');
    expect(run.stdout).toContain('categories.account.legalBasis: is missing');
    const entries = await readArchive(run.lastLine);
    const about = JSON.parse(entries.get('about-this-export.json')?.toString() ?? 'null') as { incomplete: string[]; categories: { legalBasis: string }[] };
    expect(about.incomplete).toContain('categories.usage.recipients');
    expect(about.categories[0]?.legalBasis).toMatch(/^Not stated/);
    expect([...entries.keys()].sort()).toEqual([
      'about-this-export.json',
      'account/profile.csv',
      'account/profile.json',
      'communication/attachments/evil.txt',
      'communication/attachments/photo.png',
      'communication/messages.csv',
      'communication/messages.json',
      'datapackage.json',
      'index.html',
      'manifest.json',
      'usage/usage-events.csv',
      'usage/usage-events.json',
    ]);
    // DynamoDB stores "-1.50" as -1.5; the archive holds exactly the digits DynamoDB holds.
    expect(entries.get('account/profile.json')?.toString()).toBe('[\n  {"userId":"alice","name":"Alice","score":-1.5}\n]\n');
    expect(entries.get('communication/messages.csv')?.toString()).toBe("\ufeffuserId,sk,body\r\nalice,MSG#1,'=1+1\r\n");
    expect(entries.get('communication/attachments/photo.png')?.toString()).toBe('png-bytes');
    expect(JSON.parse(entries.get('usage/usage-events.json')?.toString() ?? '')).toEqual([{ eventId: 'e1', userId: 'alice', at: '2026-01-01T00:00:00Z' }]);
  });

  it('writes only the asked-for format', async () => {
    const run = demo('--data-map', minimalMap, '--seed', seedFile, '--user', 'alice', '--format', 'json', '--out', join(dir, 'json'));
    expect(run.code, run.stderr).toBe(0);
    const names = [...(await readArchive(run.lastLine)).keys()];
    expect(names.filter((n) => n.endsWith('.csv'))).toEqual([]);
    expect(names).toContain('account/profile.json');
  });

  it('refuses a map that states legal facts but not all of them, naming the category and the field', () => {
    const partial = writeJson('partial-map.json', {
      ...ANSWER_FACTS,
      categories: { ...ANSWER_FACTS.categories, usage: { legalBasis: 'Legitimate interest (Art. 6(1)(f)).', recipients: [] } },
      sources: (JSON.parse(readFileSync(minimalMap, 'utf8')) as { sources: unknown }).sources,
    });
    const run = demo('--data-map', partial, '--seed', seedFile, '--user', 'alice');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`The data map file ${partial} does not say everything an access request must be told (GDPR Art. 15(1)):`);
    expect(run.stderr).toContain('categories.usage.automatedDecisions: is missing (category "usage" is used by source "usage-events")');
    expect(run.stderr).not.toContain('categories.account.');
    expect(run.stdout).not.toContain('Embedded stack up');
  });

  it('refuses a malformed data map before starting anything, naming the file, source and field, without a stack trace', () => {
    const bad = writeJson('bad-map.json', {
      sources: [{ id: 'messages', category: 'chat', type: 'dynamodb', table: 'Messages', partitionKey: 'userId', keyTemplate: 'USER', sortKeyPrefix: 'MSG#' }],
    });
    const run = demo('--data-map', bad, '--seed', seedFile, '--user', 'alice');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`The data map file ${bad} is not a valid data map`);
    expect(run.stderr).toContain('sources[0] ("messages").category: must be one of');
    expect(run.stderr).toContain('sources[0] ("messages").keyTemplate: must contain {userId}');
    expect(run.stderr).toContain('sources[0] ("messages").sortKeyPrefix: needs "sortKey"');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).not.toContain('Embedded stack up');
  });

  it('refuses a malformed seed, naming the field', () => {
    const bad = writeJson('bad-seed.json', { tables: { Users: [{ userId: { S: 'alice' }, age: { N: 42 } }] } });
    const run = demo('--data-map', minimalMap, '--seed', bad, '--user', 'alice');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`The seed file ${bad} is not a valid seed`);
    expect(run.stderr).toContain('tables.Users[0].age');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a seed that lacks the schema of a table read through an index, naming the table', () => {
    const bad = writeJson('no-schema-seed.json', { ...seed, schemas: {} });
    const run = demo('--data-map', minimalMap, '--seed', bad, '--user', 'alice');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('table "UsageEvents" is read through index "byUser" by source "usage-events"');
  });

  it('explains its flags when given a wrong one', () => {
    const run = demo('--format', 'xml');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--format must be json, csv or both, not "xml".');
    expect(run.stderr).toContain('Usage: npm run demo --');
    const unknown = demo('--colour');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Usage: npm run demo --');
  });
});
