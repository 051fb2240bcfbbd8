// The legal facts of the answer in the data map (GDPR Art. 15(1)): a used category without one is refused
// with the category and the field named; exclude reasons and redact paths are read and checked; other
// people's values are replaced in place; the start body's date range is checked and kept in UTC.
import { describe, expect, it } from 'vitest';
import { startBodySchema } from '../../lambdas/core/api/exports-api.ts';
import { startExport } from '../../lambdas/core/lifecycle/export-lifecycle.ts';
import { buildAboutThisExport, DEFAULT_WITHHELD_REASON } from '../../lambdas/core/archive/about-this-export.ts';
import { baseQuery, pageQuery, rangeValues } from '../../lambdas/core/collect/connectors/postgres/sql.ts';
import { userQuery } from '../../lambdas/core/collect/connectors/dynamodb/collector.ts';
import { answerProblems, assertAnswerable, parseDataMap, type DynamoDbSource } from '../../lambdas/core/data-map/data-map.ts';
import { DEFAULT_CONTROLLER, DEFAULT_RIGHTS } from '../../lambdas/core/data-map/privacy-policy.ts';
import { REDACTED_TEXT, redactionFor } from '../../lambdas/core/values/redaction.ts';
import { ANSWER_FACTS, TEST_REQUEST } from '../support/answer-facts.ts';
import { aboutProblems } from '../../local/about-check.ts';
import type { Manifest } from '../../lambdas/core/archive/manifest.ts';

const account = { id: 'account', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' };
const usage = { id: 'usage', category: 'usage', type: 'dynamodb', table: 'Usage', partitionKey: 'userId', keyTemplate: '{userId}', sortKey: 'at', timeAttribute: 'at' };

describe('the legal facts a data map must give', () => {
  it('names every used category and field the policy does not give and the map lacks', () => {
    const map = parseDataMap({ sources: [account, usage], categories: { usage: { legalBasis: 'Legitimate interest (Art. 6(1)(f)).' } } });
    expect(answerProblems(map)).toEqual([
      'categories.account.legalBasis: is missing (category "account" is used by source "account")',
      'categories.account.recipients: is missing (category "account" is used by source "account")',
      'categories.account.automatedDecisions: is missing (category "account" is used by source "account")',
      'categories.usage.recipients: is missing (category "usage" is used by source "usage")',
      'categories.usage.automatedDecisions: is missing (category "usage" is used by source "usage")',
    ]);
    expect(() => assertAnswerable(map, 'The data map file m.json')).toThrow(
      /^The data map file m\.json does not say everything an access request must be told \(GDPR Art\. 15\(1\)\):\n {2}- categories\.account\.legalBasis: is missing/,
    );
  });

  it('takes the privacy policy’s words where it speaks, and asks nothing of unused categories', () => {
    const map = parseDataMap({ ...ANSWER_FACTS, sources: [account] });
    expect(answerProblems(map)).toEqual([]);
    const lean = parseDataMap({ sources: [account], categories: { account: { legalBasis: 'Contract.', recipients: [], automatedDecisions: 'None.' } } });
    expect(answerProblems(lean)).toEqual([]);
    const about = buildAboutThisExport(lean, { exportId: 'e', userId: 'u', generatedAt: '2026-01-01T00:00:00.000Z', request: TEST_REQUEST, sourceIds: ['account'] });
    expect(about.controller).toEqual(DEFAULT_CONTROLLER);
    expect(about.rights).toEqual(DEFAULT_RIGHTS);
    expect(about.categories[0]).toMatchObject({ category: 'account', title: 'Account information', origin: ['provided by you'], recipients: [], sources: ['account'] });
  });

  it('refuses empty facts and malformed recipients, naming the field', () => {
    expect(() => parseDataMap({ sources: [account], categories: { account: { legalBasis: ' ', recipients: [{ country: 'US' }], origin: [] } } }, 'm.json')).toThrow(
      /categories\.account\.legalBasis: must not be empty[\s\S]*categories\.account\.recipients\[0\]\.name[\s\S]*categories\.account\.origin: must say where the data comes from/,
    );
  });
});

describe('about-this-export.json against its published schema', () => {
  const map = parseDataMap({ ...ANSWER_FACTS, sources: [account, usage] });
  const about = buildAboutThisExport(map, { exportId: 'e-1', userId: 'u-1', generatedAt: '2026-01-01T00:00:00.000Z', request: TEST_REQUEST, sourceIds: ['account', 'usage'] });
  const manifest = { exportId: 'e-1', userId: 'u-1', sources: [{ sourceId: 'account' }, { sourceId: 'usage' }] } as unknown as Manifest;

  it('validates, and speaks of every source of the archive', () => {
    expect(aboutProblems(JSON.stringify(about), manifest)).toEqual([]);
    expect(aboutProblems(JSON.stringify({ ...about, categories: about.categories.slice(1) }), manifest)).toEqual(['about-this-export.json says nothing of source "account"']);
  });

  it('refuses a missing fact, an unknown requester, and an empty reason', () => {
    const [first, ...rest] = about.categories;
    const { legalBasis: _dropped, ...withoutBasis } = first!;
    expect(aboutProblems(JSON.stringify({ ...about, categories: [withoutBasis, ...rest] }), manifest)).toEqual([
      "about-this-export.json/categories/0 must have required property 'legalBasis'",
    ]);
    expect(aboutProblems(JSON.stringify({ ...about, request: { ...about.request, requestedBy: 'robot' } }), manifest)).toEqual([
      'about-this-export.json/request/requestedBy must be equal to one of the allowed values',
    ]);
    expect(aboutProblems(JSON.stringify({ ...about, withheld: [{ sourceId: 'account', attribute: 'x', reason: ' ' }] }), manifest)).toEqual([
      'about-this-export.json/withheld/0/reason must match pattern "\\S"',
    ]);
    expect(aboutProblems(undefined, manifest)).toEqual(['the archive has no about-this-export.json']);
  });
});

describe('exclude reasons and redact paths', () => {
  it('lists every excluded attribute as withheld, with its reason or the default one', () => {
    const map = parseDataMap({ ...ANSWER_FACTS, sources: [{ ...account, exclude: ['mfaSecret', { attribute: 'passwordHash', reason: 'A hash helps guessing.' }] }] });
    const about = buildAboutThisExport(map, { exportId: 'e', userId: 'u', generatedAt: '2026-01-01T00:00:00.000Z', request: TEST_REQUEST, sourceIds: ['account'] });
    expect(about.withheld).toEqual([
      { sourceId: 'account', attribute: 'mfaSecret', reason: DEFAULT_WITHHELD_REASON },
      { sourceId: 'account', attribute: 'passwordHash', reason: 'A hash helps guessing.' },
    ]);
  });

  it('refuses a redact path that is excluded, empty in a part, or the key that finds the user', () => {
    expect(() => parseDataMap({ sources: [{ ...account, exclude: ['sender'], redact: ['sender.email', 'a..b', 'userId'] }] }, 'm.json')).toThrow(
      /redact\[1\]: must be an attribute name or a dotted path[\s\S]*redact\[0\]: "sender\.email" is excluded already[\s\S]*redact\[2\]: cannot redact "userId"/,
    );
  });

  it('replaces the values at each path, through lists and dotted names, keeping every field', () => {
    const redaction = redactionFor(['sender.email', 'parties.phone', 'a.b', 'missing.path']);
    const rawJson = (JSON as unknown as { rawJSON: (t: string) => unknown }).rawJSON;
    const record: Record<string, unknown> = {
      sender: { name: 'Bo', email: 'bo@example.com' },
      parties: [{ phone: '+1 555' }, { phone: null }, 'text'],
      'a.b': 1,
      a: { b: rawJson('12345678901234567890') },
      body: 'hello',
    };
    redaction?.apply(record);
    expect(JSON.stringify(record)).toBe(
      JSON.stringify({
        sender: { name: 'Bo', email: REDACTED_TEXT },
        parties: [{ phone: REDACTED_TEXT }, { phone: REDACTED_TEXT }, 'text'],
        'a.b': REDACTED_TEXT,
        a: { b: REDACTED_TEXT },
        body: 'hello',
      }),
    );
    expect(redaction?.replacesWhole('a.b')).toBe(true);
    expect(redaction?.replacesWhole('sender')).toBe(false);
    expect(redactionFor([])).toBeUndefined();
  });
});

describe('the categories chosen', () => {
  it('are refused before anything is written when the data map holds nothing in them', async () => {
    const map = parseDataMap({ ...ANSWER_FACTS, sources: [account, usage] });
    // Nothing may be touched: the refusal comes first.
    const untouchable = new Proxy(
      {},
      {
        get: () => {
          throw new Error('touched');
        },
      },
    ) as never;
    await expect(
      startExport(
        { userId: 'u-1', formats: ['json'], categories: ['location', 'device'], actor: { id: 'u-1', role: 'user' } },
        { jobs: untouchable, workflow: untouchable, dataMap: map, settings: { retentionDays: 7, responseDays: 30, maxConcurrentExports: 50 }, now: () => new Date() },
      ),
    ).rejects.toThrow('We hold no data in "location", "device"; choose among account, usage.');
  });
});

describe('the date range', () => {
  it('takes ISO 8601 dates and times with a zone, in UTC, and refuses an until before since', () => {
    expect(startBodySchema.parse({ since: '2026-01-31', until: '2026-02-01T10:00:00+02:00' })).toMatchObject({
      since: '2026-01-31T00:00:00.000Z',
      until: '2026-02-01T08:00:00.000Z',
    });
    const backwards = startBodySchema.safeParse({ since: '2026-02-01', until: '2026-01-01' });
    expect(backwards.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['until', 'must not be before "since"']]);
    expect(startBodySchema.safeParse({ since: 'last week' }).error?.issues[0]?.message).toMatch(/^must be an ISO 8601 date or time/);
  });

  it('is a DynamoDB key condition on the sort key (behind its prefix) and a filter elsewhere', () => {
    const range = { since: '2026-01-01T00:00:00.000Z', until: null };
    const onKey = userQuery({ ...(usage as DynamoDbSource), sortKeyPrefix: 'EV#' }, 'u-1', range);
    expect(onKey).toMatchObject({
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :since AND :until',
      ExpressionAttributeValues: { ':pk': { S: 'u-1' }, ':since': { S: 'EV#2026-01-01T00:00:00.000Z' }, ':until': { S: 'EV#\u{10FFFF}' } },
      FilterExpression: undefined,
    });
    const filtered = userQuery({ ...(usage as DynamoDbSource), timeAttribute: 'sentAt' }, 'u-1', { since: null, until: '2026-02-01T00:00:00.000Z' });
    expect(filtered).toMatchObject({ KeyConditionExpression: '#pk = :pk', FilterExpression: '#time <= :until', ExpressionAttributeNames: { '#time': 'sentAt' } });
    expect(userQuery(usage as DynamoDbSource, 'u-1').FilterExpression).toBeUndefined();
  });

  it('is a bound parameter in PostgreSQL, numbered before the cursor’s', () => {
    const source = { id: 'orders', table: 'orders', userColumn: 'buyer_id', orderBy: ['order_id'], timeAttribute: 'ordered_at' };
    const range = { since: '2026-01-01T00:00:00.000Z', until: '2026-02-01T00:00:00.000Z' };
    expect(baseQuery(source, range)).toBe(
      'SELECT ranged.* FROM (SELECT * FROM "orders" WHERE "buyer_id" = $1\n) AS ranged WHERE ranged."ordered_at" >= $2 AND ranged."ordered_at" <= $3',
    );
    expect(rangeValues(range)).toEqual([range.since, range.until]);
    expect(pageQuery(source, true, 10, range)).toContain('WHERE (page."order_id") > ($4)');
    expect(baseQuery(source, { since: null, until: range.until })).toContain('ranged."ordered_at" <= $2');
    expect(baseQuery({ ...source, timeAttribute: undefined }, range)).toBe('SELECT * FROM "orders" WHERE "buyer_id" = $1');
  });
});
