// Load: 50 users export at once on the embedded stack. Every export must complete, and every archive
// must hold exactly its own user's records and files — checked record by record — and nobody else's.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDbSource } from '../../lambdas/core/data-map/data-map.ts';
import { readArchive } from '../../local/archive-reader.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import type { Seed } from '../../local/seed.ts';
import { canonicalItem, expectedItems, parseExportJson, sortRecords, type Canonical } from '../support/expectations.ts';
import { report } from '../support/reliability.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const EXPORTS = 50;
const dir = mkdtempSync(join(tmpdir(), 'load-'));
const dataMapFile = writeDataMap(dir, [
  { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}', exclude: ['secret'] },
  { id: 'messages', category: 'communication', type: 'dynamodb', table: 'Inbox', partitionKey: 'pk', keyTemplate: 'USER#{userId}', sortKey: 'sk', sortKeyPrefix: 'MSG#' },
  { id: 'events', category: 'usage', type: 'dynamodb', table: 'Events', index: 'byUser', partitionKey: 'userId', keyTemplate: '{userId}' },
  { id: 'files', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
]);

// Ids chosen so that prefixes collide: user-1 / user-10 / user-11 …
const users = Array.from({ length: EXPORTS }, (_, i) => `user-${i + 1}`);
const seed: Seed = {
  tables: {
    Users: users.map((u) => ({ userId: { S: u }, email: { S: `${u}@example.com` }, secret: { S: `secret-of-${u}` }, n: { N: String(users.indexOf(u)) } })),
    Inbox: users.flatMap((u) => [
      ...Array.from({ length: 5 }, (_, i) => ({ pk: { S: `USER#${u}` }, sk: { S: `MSG#${i}` }, body: { S: `message ${i} of ${u}` } })),
      { pk: { S: `USER#${u}` }, sk: { S: 'DRAFT#1' }, body: { S: `draft of ${u}` } },
    ]),
    Events: users.flatMap((u) => Array.from({ length: 8 }, (_, i) => ({ eventId: { S: `${u}-e${i}` }, userId: { S: u }, kind: { S: 'view' } }))),
  },
  schemas: { Events: { partitionKey: 'eventId', indexes: { byUser: { partitionKey: 'userId' } } }, Inbox: { partitionKey: 'pk', sortKey: 'sk' } },
  objects: users.flatMap((u) => [0, 1].map((i) => ({ bucket: 'uploads', key: `users/${u}/doc-${i}.txt`, base64: Buffer.from(`file ${i} of ${u}`).toString('base64') }))),
};

let stack: EmbeddedStack;

beforeAll(async () => {
  stack = await EmbeddedStack.start({ dataMapFile });
  await stack.loadSeed(seed);
});

afterAll(async () => {
  await stack?.stop();
});

describe('load', () => {
  it(`${EXPORTS} exports of different users at once all complete, each holding exactly its own user's data`, { timeout: 300_000 }, async (context) => {
    const jobs = await Promise.all(users.map((userId) => stack.startExport({ userId, formats: ['json', 'csv'], actor: { id: 'load', role: 'operator' } })));
    const finished = await Promise.all(jobs.map((job) => stack.waitForExport(job.exportId)));
    expect(finished.map((f) => f.job.status)).toEqual(users.map(() => 'READY'));

    let lost = 0;
    let leaks = 0;
    const sources = stack.dataMap.sources.filter((s): s is DynamoDbSource => s.type === 'dynamodb');
    for (const [index, userId] of users.entries()) {
      const exportId = finished[index]?.job.exportId ?? '';
      const { zip } = await stack.inbox.downloadFromEmail(`${userId}@example.com`, exportId);
      const path = join(dir, `${userId}.zip`);
      writeFileSync(path, zip);
      const entries = await readArchive(path);
      for (const source of sources) {
        const expected = sortRecords(expectedItems(seed, source, userId).map(canonicalItem));
        const actual = sortRecords(parseExportJson(entries.get(`${source.category}/${source.id}.json`)?.toString() ?? '[]') as Canonical[]);
        const key = (r: Canonical) => JSON.stringify(r);
        const found = new Set(actual.map(key));
        lost += expected.filter((r) => !found.has(key(r))).length + (actual.length - found.size);
        const owner = source.keyTemplate.replaceAll('{userId}', userId);
        leaks += actual.filter((r) => (r as Record<string, Canonical>)[source.partitionKey] !== owner).length;
      }
      const files = [...entries.keys()].filter((p) => p.startsWith('communication/files/'));
      lost += [0, 1].filter((i) => entries.get(`communication/files/doc-${i}.txt`)?.toString() !== `file ${i} of ${userId}`).length;
      leaks += files.length - 2;
      // No trace of any other user anywhere in the archive, not even user-10 inside user-1's.
      const others = new RegExp(`(?:user-(?!${userId.slice(5)}\\b)\\d+\\b)`);
      for (const [name, content] of entries) {
        if (name === 'manifest.json' || name === 'index.html') continue;
        if (others.test(content.toString('utf8'))) leaks += 1;
      }
      expect((entries.get('account/profile.json')?.toString() ?? '').includes('secret-of')).toBe(false);
    }
    expect(lost).toBe(0);
    expect(leaks).toBe(0);
    report(context, { kind: `${EXPORTS} concurrent exports`, cases: EXPORTS, outcome: 'all READY; each archive exactly its user’s records', recordsLost: lost, leaks });
  });
});
