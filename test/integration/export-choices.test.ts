// What the user chooses (categories, a date range) and what the answer says of it, against the
// emulators with the demo data: the range is applied by DynamoDB (key condition or filter) and by
// PostgreSQL (a bound parameter), exactly the seeded records within it come back, the others whole, and
// about-this-export.json states the choice, the legal facts, and what was withheld and redacted.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AboutThisExport } from '../../lambdas/core/archive/about-this-export.ts';
import type { Manifest } from '../../lambdas/core/archive/manifest.ts';
import type { DynamoDbSource, Source } from '../../lambdas/core/data-map/data-map.ts';
import type { Category } from '../../lambdas/core/data-map/privacy-policy.ts';
import { buildDemoSeed, DEMO_USER_ID } from '../../local/demo-seed.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import { canonicalItem, expectedItems, parseExportJson, sortRecords, type Canonical } from '../support/expectations.ts';
import { exportAndDownload } from '../support/exported-archive.ts';

const seed = buildDemoSeed();
const dir = mkdtempSync(join(tmpdir(), 'choices-'));
const SINCE = '2026-05-30T00:00:00.000Z';
const UNTIL = '2026-05-31T13:00:00.000Z';
const CHOSEN: Category[] = ['account', 'payment', 'communication', 'usage'];
const REDACTED = "[redacted: another person's data]";

// The demo map, plus the messages read again with the range on their sort key behind its prefix
// ("MSG#<time>"): the key condition's bounds are then the prefix and the time.
const demoMap = JSON.parse(readFileSync('config/data-map.json', 'utf8')) as { sources: object[] };
const mapFile = join(dir, 'map.json');
writeFileSync(
  mapFile,
  JSON.stringify({
    ...demoMap,
    sources: [
      ...demoMap.sources,
      {
        id: 'messages-by-key',
        category: 'communication',
        type: 'dynamodb',
        table: 'Messages',
        partitionKey: 'userId',
        keyTemplate: '{userId}',
        sortKey: 'sk',
        sortKeyPrefix: 'MSG#',
        timeAttribute: 'sk',
      },
    ],
  }),
);

let stack: EmbeddedStack;
let entries: Map<string, Buffer>;
let manifest: Manifest;
let about: AboutThisExport;
const json = (path: string) => parseExportJson(entries.get(path)?.toString('utf8') ?? 'null') as Canonical[];

beforeAll(async () => {
  stack = await EmbeddedStack.start({ dataMapFile: mapFile, retryIntervalMs: 0, collectBudgetSeconds: 0.001 });
  await stack.loadSeed(seed);
  ({ entries, manifest, about } = await exportAndDownload(
    stack,
    { userId: DEMO_USER_ID, formats: ['json'], categories: CHOSEN, since: SINCE, until: UNTIL, actor: { id: DEMO_USER_ID, role: 'user' } },
    dir,
  ));
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const timeOf = (source: Source) => ('timeAttribute' in source ? source.timeAttribute : undefined);
const inRange = (time: string) => Date.parse(time) >= Date.parse(SINCE) && Date.parse(time) <= Date.parse(UNTIL);

describe('an export of chosen categories and dates', () => {
  it('holds the chosen categories only', () => {
    expect([...new Set(manifest.sources.map((s) => s.category))].sort()).toEqual([...CHOSEN].sort());
    expect(about.request.categories).toEqual(CHOSEN);
    expect(about.categories.map((c) => c.category).sort()).toEqual([...CHOSEN].sort());
  });

  it('holds exactly the seeded DynamoDB records within the range, by key condition or by filter', () => {
    let kept = 0;
    let left = 0;
    for (const source of stack.dataMap.sources.filter((s): s is DynamoDbSource => s.type === 'dynamodb' && CHOSEN.includes(s.category))) {
      const all = expectedItems(seed, source, DEMO_USER_ID);
      const time = timeOf(source);
      const within =
        time === undefined ? all : all.filter((item) => inRange((item[time] as { S: string }).S.replace(source.sortKey === time ? (source.sortKeyPrefix ?? '') : '', '')));
      kept += within.length;
      left += all.length - within.length;
      expect(sortRecords(json(`${source.category}/${source.id}.json`)), source.id).toEqual(sortRecords(within.map(canonicalItem)));
    }
    // The range both kept and left out records, so neither "nothing" nor "everything" passes.
    expect(kept).toBeGreaterThan(0);
    expect(left).toBeGreaterThan(0);
  });

  it('applies the range to PostgreSQL sources as a parameter, and leaves sources without a timeAttribute whole', () => {
    // The demo user's only order is of 2026-05-01: outside the range.
    expect(json('payment/orders.json')).toEqual([]);
    for (const id of ['dealer-leads', 'reviews-written', 'reviews-about-me']) {
      const source = stack.dataMap.sources.find((s) => s.id === id) as Source;
      for (const row of json(`communication/${id}.json`) as Record<string, unknown>[]) expect(inRange(row[timeOf(source) as string] as string), id).toBe(true);
    }
    const whole = stack.dataMap.sources.filter((s) => CHOSEN.includes(s.category) && timeOf(s) === undefined).map((s) => s.id);
    expect(whole).toContain('account');
    expect(about.request.rangeNotAppliedTo).toEqual(whole);
    expect(about.request.rangeAppliedTo).toEqual(stack.dataMap.sources.filter((s) => CHOSEN.includes(s.category) && timeOf(s) !== undefined).map((s) => s.id));
    expect(about.request).toMatchObject({ since: SINCE, until: UNTIL, requestedBy: 'self' });
    expect(Date.parse(about.request.dueBy) - Date.parse(about.request.receivedAt)).toBe(30 * 86_400_000);
  });

  it('states what was withheld, with the data map’s reasons, and what was redacted', () => {
    expect(about.withheld).toContainEqual({ sourceId: 'account', attribute: 'passwordHash', reason: expect.stringMatching(/one-way hash/) as unknown });
    expect(about.withheld).toContainEqual({ sourceId: 'identity', attribute: 'custom:risk_score', reason: expect.stringMatching(/fraud score/) as unknown });
    expect(about.withheld).toContainEqual({ sourceId: 'orders', attribute: 'card_token', reason: expect.stringMatching(/token/) as unknown });
    expect(about.withheld.find((w) => w.sourceId === 'payment-methods')?.attribute).toBe('*');
    expect(about.redacted.map((r) => `${r.sourceId}:${r.attribute}`)).toEqual([
      'direct-messages-sent:recipientId',
      'direct-messages-sent:recipient.name',
      'direct-messages-sent:recipient.email',
      'direct-messages-sent:recipient.phone',
      'direct-messages-received:senderId',
      'direct-messages-received:sender.name',
      'direct-messages-received:sender.email',
      'direct-messages-received:sender.phone',
      'reviews-about-me:reviewer_id',
    ]);
    for (const category of about.categories) {
      for (const field of ['title', 'holds', 'purpose', 'legalBasis', 'retention', 'automatedDecisions'] as const)
        expect(category[field], `${category.category}.${field}`).toMatch(/\S/);
      expect(category.origin.length).toBeGreaterThan(0);
      expect(category.recipients.length).toBeGreaterThan(0);
    }
    expect(about.controller).toMatchObject({ name: 'Cartropic, Inc.', contact: 'privacy@cartropic.com' });
    expect(about.rights.length).toBeGreaterThan(0);
    expect(about.complaint).toMatch(/supervisory authority/);
  });

  it('reads messages received through the recipient index, the sender’s identity redacted, and holds no other person’s details', () => {
    const received = json('communication/direct-messages-received.json') as Record<string, Canonical>[];
    expect(received.length).toBeGreaterThan(0);
    for (const message of received) {
      expect(message.recipientId).toBe(DEMO_USER_ID);
      expect(message.senderId).toBe(REDACTED);
      expect(message.sender).toEqual({ name: REDACTED, email: REDACTED, phone: REDACTED });
      expect((message.recipient as Record<string, string>).email).toBe('ana.ruiz@example.com');
    }
    const everything = [...entries.values()].map((b) => b.toString('utf8')).join('\n');
    for (const other of ['u-1002', 'u-1003', 'Marcus Chen', 'marcus.chen@example.org', '+1-303-555-0191', 'Priya', 'priya.n@example.net']) expect(everything).not.toContain(other);
  });
});
