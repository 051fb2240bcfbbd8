// The demo data map and the demo seed must fit each other, and the seed must contain the cases the
// export is meant to handle (exclusions, prefix neighbours, multi-page queries); otherwise a green demo
// would prove nothing.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { WireItem } from '../../lambdas/core/values/attribute-values.ts';
import { excludedNames, parseDataMap, renderKeyTemplate, type DataMap, type DynamoDbSource } from '../../lambdas/core/data-map/data-map.ts';
import { CATEGORIES } from '../../lambdas/core/data-map/privacy-policy.ts';
import { buildDemoSeed, DEMO_BUCKET, DEMO_USER_ID, DEMO_USERS } from '../../local/demo-seed.ts';
import { parseSeed, resolveTableSchemas } from '../../local/seed.ts';

const dataMap: DataMap = parseDataMap(JSON.parse(readFileSync(new URL('../../config/data-map.json', import.meta.url), 'utf8')), 'config/data-map.json');
const seed = buildDemoSeed();
const dynamoSources = dataMap.sources.filter((s): s is DynamoDbSource => s.type === 'dynamodb');

/** The items a source's Query returns for a user: partition key equal, sort key with the source's prefix. */
function itemsOf(source: DynamoDbSource, userId: string): WireItem[] {
  const key = renderKeyTemplate(source.keyTemplate, userId);
  return (seed.tables[source.table] ?? []).filter((item) => {
    const pk = item[source.partitionKey];
    if (!pk || !('S' in pk) || pk.S !== key) return false;
    if (source.sortKeyPrefix === undefined || source.sortKey === undefined) return true;
    const sk = item[source.sortKey];
    return sk !== undefined && 'S' in sk && sk.S.startsWith(source.sortKeyPrefix);
  });
}

describe('demo data map (config/data-map.json)', () => {
  it('covers every privacy-policy category', () => {
    expect(new Set(dataMap.sources.map((s) => s.category))).toEqual(new Set(CATEGORIES));
  });

  it('sends the email to the account source and describes every source', () => {
    expect(dataMap.recipient).toEqual({ sourceId: 'account', attribute: 'email' });
    for (const source of dataMap.sources) expect(source.description, source.id).toMatch(/^[A-Z].{20,}\.$/);
  });
});

describe('demo seed', () => {
  it('is a valid seed that fits the data map', () => {
    const parsed = parseSeed(JSON.parse(JSON.stringify(seed)), 'demo seed');
    const schemas = resolveTableSchemas(parsed, dataMap, 'demo seed');
    expect(schemas.get('UsageEvents')).toMatchObject({ partitionKey: 'eventId', indexes: { byUser: { partitionKey: 'userId', sortKey: 'occurredAt' } } });
  });

  it('is deterministic', () => {
    expect(buildDemoSeed()).toEqual(seed);
  });

  it('never has two items with the same primary key (a PutItem would silently overwrite one)', () => {
    for (const [table, schema] of resolveTableSchemas(seed, dataMap)) {
      const keys = (seed.tables[table] ?? []).map((item) => JSON.stringify([item[schema.partitionKey], schema.sortKey && item[schema.sortKey]]));
      expect(new Set(keys).size, table).toBe(keys.length);
    }
    const objectKeys = seed.objects.map((o) => `${o.bucket}/${o.key}`);
    expect(new Set(objectKeys).size).toBe(objectKeys.length);
  });

  it('gives every user records in every source of the map', () => {
    for (const userId of DEMO_USERS) {
      for (const source of dynamoSources) expect(itemsOf(source, userId).length, `${source.id} of ${userId}`).toBeGreaterThan(0);
      for (const source of dataMap.sources) {
        if (source.type !== 's3') continue;
        const prefix = renderKeyTemplate(source.prefix, userId);
        expect(seed.objects.filter((o) => o.bucket === source.bucket && o.key.startsWith(prefix)).length, `${source.id} of ${userId}`).toBeGreaterThan(1);
      }
    }
  });

  it('gives u-heavy more usage events than one 1 MB Query page holds', () => {
    const events = (seed.tables.UsageEvents ?? []).filter((e) => e.userId && 'S' in e.userId && e.userId.S === 'u-heavy');
    expect(JSON.stringify(events).length).toBeGreaterThan(1.2 * 1024 * 1024);
    // DynamoDB counts attribute values, not JSON: even the string values alone must exceed a page.
    const valueBytes = events.flatMap((e) => Object.values(e)).reduce((sum, v) => sum + ('S' in v ? Buffer.byteLength(v.S) : 0), 0);
    expect(valueBytes).toBeGreaterThan(1.2 * 1024 * 1024);
  });

  it('holds payment fields outside the include list, and account secrets the map excludes', () => {
    const payment = dynamoSources.find((s) => s.category === 'payment');
    const account = dynamoSources.find((s) => s.id === 'account');
    const paymentItems = itemsOf(payment!, DEMO_USER_ID);
    const hidden = paymentItems.flatMap((item) => Object.keys(item)).filter((name) => !payment!.include!.includes(name));
    for (const name of ['cardFingerprint', 'processorToken', 'panEncrypted']) expect(hidden).toContain(name);
    for (const item of itemsOf(account!, DEMO_USER_ID)) for (const name of excludedNames(account!)) expect(item).toHaveProperty(name);
  });

  it("holds every value type and awkward text for the demo user's exact export", () => {
    const account = dynamoSources.find((s) => s.id === 'account')!;
    const [user] = itemsOf(account, DEMO_USER_ID);
    const types = new Set(Object.values(user ?? {}).map((v) => Object.keys(v)[0]));
    for (const type of ['S', 'N', 'B', 'BOOL', 'NULL', 'SS', 'NS', 'L', 'M']) expect(types, type).toContain(type);
    expect(user?.rewardsBalance).toEqual({ N: '12345678901234567890.123456789012345678' });
    expect(user?.creditBalance).toEqual({ N: '-42.75' });
    expect(user?.nickname).toEqual({ S: '' });

    const messages = itemsOf(
      dynamoSources.find((s) => s.id === 'messages')!,
      DEMO_USER_ID,
    ).map((m) => (m.body && 'S' in m.body ? m.body.S : ''));
    expect(messages.some((b) => b.startsWith('=HYPERLINK('))).toBe(true);
    expect(messages.some((b) => b.includes(',') && b.includes('"') && b.includes('\n'))).toBe(true);
    expect(messages.some((b) => b.includes('Größe ✓ 日本語'))).toBe(true);

    const demoKeys = seed.objects.filter((o) => o.key.startsWith(`users/${DEMO_USER_ID}/attachments/`)).map((o) => o.key);
    expect(demoKeys.some((k) => k.split('/').length > 5)).toBe(true); // a nested folder
    expect(demoKeys.some((k) => / /.test(k) && /[^\x20-\x7e]/.test(k))).toBe(true); // spaces and unicode
    expect(seed.objects.every((o) => o.bucket === DEMO_BUCKET)).toBe(true);
  });

  it('has a neighbour whose ids and keys start with the demo user id', () => {
    const neighbour = DEMO_USERS.find((id) => id !== DEMO_USER_ID && id.startsWith(DEMO_USER_ID));
    expect(neighbour).toBe('u-10010');
    expect(seed.objects.some((o) => o.key.startsWith(`users/${neighbour}/`))).toBe(true);
    const eventIds = (seed.tables.UsageEvents ?? []).map((e) => (e.eventId && 'S' in e.eventId ? e.eventId.S : ''));
    expect(eventIds.some((id) => id.startsWith(`ev-${DEMO_USER_ID}`) && id.includes(`ev-${neighbour}`))).toBe(true);
  });
});
