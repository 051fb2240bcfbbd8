// docs/architecture.md, "The data map": a mistake in the map must stop everything with a message that names the
// file, the source (index and id) and the field, and lists every problem at once.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { categoryPolicy, loadDataMapFile, parseDataMap, renderKeyTemplate, selectSources, type DataMap } from '../../lambdas/core/data-map/data-map.ts';
import { DataMapError } from '../../lambdas/core/platform/errors.ts';
import { DEFAULT_CATEGORY_POLICIES } from '../../lambdas/core/data-map/privacy-policy.ts';

const ORIGIN = 'maps/test.json';

const profile = { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}', exclude: ['passwordHash'] };
const messages = {
  id: 'messages',
  category: 'communication',
  type: 'dynamodb',
  table: 'Messages',
  partitionKey: 'userId',
  keyTemplate: '{userId}',
  sortKey: 'sk',
  sortKeyPrefix: 'MSG#',
};
const usage = { id: 'usage-events', category: 'usage', type: 'dynamodb', table: 'UsageEvents', index: 'byUser', partitionKey: 'userId', keyTemplate: '{userId}' };
const attachments = { id: 'attachments', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' };

/** The contract's minimum map with one source replaced or extended. */
function mapWith(changes: Record<string, unknown>, index = 1, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const sources: Record<string, unknown>[] = [profile, messages, usage, attachments].map((s) => ({ ...s }));
  sources[index] = { ...sources[index], ...changes };
  return { sources, ...extra };
}

/** The problem lines of the DataMapError that parsing `value` throws. */
function problemsOf(value: unknown): string[] {
  try {
    parseDataMap(value, ORIGIN);
  } catch (error) {
    expect(error).toBeInstanceOf(DataMapError);
    const [first, ...lines] = (error as Error).message.split('\n');
    expect(first).toBe(`${ORIGIN} is not a valid data map:`);
    return lines;
  }
  throw new Error('parseDataMap accepted the map');
}

describe('config/data-map.json', () => {
  it('parses and holds every source the demo relies on', () => {
    const map = parseDataMap(JSON.parse(readFileSync(new URL('../../config/data-map.json', import.meta.url), 'utf8')), 'config/data-map.json');
    expect(map.sources.length).toBeGreaterThanOrEqual(8);
    expect(new Set(map.sources.map((s) => s.id)).size).toBe(map.sources.length);
    expect(map.recipient).toEqual({ sourceId: 'account', attribute: 'email' });
  });
});

describe('parseDataMap', () => {
  it('accepts the contract’s minimum map and keeps its fields', () => {
    const map = parseDataMap(mapWith({}), ORIGIN);
    expect(map.sources.map((s) => s.id)).toEqual(['profile', 'messages', 'usage-events', 'attachments']);
    expect(map.sources[1]).toEqual(messages);
    expect(map.sources[3]).toEqual(attachments);
  });

  it('uses "data map" as the origin when none is given', () => {
    expect(() => parseDataMap({ sources: [] })).toThrow(/^data map is not a valid data map:/);
  });

  it('names the source index, id and field for an unknown category', () => {
    expect(problemsOf(mapWith({ category: 'marketing' }))).toEqual([
      '  - sources[1] ("messages").category: must be one of: account, payment, profile, communication, usage, device, location, performance',
    ]);
  });

  it('refuses a keyTemplate without {userId}', () => {
    expect(problemsOf(mapWith({ keyTemplate: 'USER#' }))).toEqual(['  - sources[1] ("messages").keyTemplate: must contain {userId}, or every user would read the same data']);
  });

  it('refuses an unknown placeholder next to {userId}', () => {
    expect(problemsOf(mapWith({ keyTemplate: '{tenantId}#{userId}' }))).toEqual(['  - sources[1] ("messages").keyTemplate: may use only the placeholder {userId}']);
  });

  it('refuses sortKeyPrefix without sortKey', () => {
    const { sortKey: _sortKey, ...withoutSortKey } = messages;
    const map = { sources: [profile, withoutSortKey] };
    expect(problemsOf(map)).toEqual(['  - sources[1] ("messages").sortKeyPrefix: needs "sortKey" to name the attribute the prefix applies to']);
  });

  it('refuses include together with exclude', () => {
    expect(problemsOf(mapWith({ include: ['userId', 'email'], exclude: ['passwordHash'] }, 0))).toEqual([
      '  - sources[0] ("profile").exclude: cannot be combined with "include"; list only the attributes to export',
    ]);
  });

  it('refuses excluding the partition key or the sort key', () => {
    expect(problemsOf(mapWith({ exclude: ['userId', 'sk'] }))).toEqual([
      '  - sources[1] ("messages").exclude: cannot exclude the key attribute "userId"',
      '  - sources[1] ("messages").exclude: cannot exclude the key attribute "sk"',
    ]);
  });

  it.each([
    ['users/{userId}', 'does not end with "/"'],
    ['users/{userId}-files/', 'lets user "u-1" match "u-10"'],
    ['users/u{userId}x/', 'has text right after {userId}'],
    ['users/{userId}', 'has nothing after {userId}'],
  ])('refuses the s3 prefix %j, which %s', (prefix) => {
    expect(problemsOf(mapWith({ prefix }, 3))).toEqual([
      '  - sources[3] ("attachments").prefix: must have "/" right after {userId} and end with "/", so user "u-1" never matches "u-10"',
    ]);
  });

  it('accepts s3 prefixes with "/" right after {userId}', () => {
    for (const prefix of ['{userId}/', 'users/{userId}/', 'users/{userId}/attachments/']) {
      const map = parseDataMap(mapWith({ prefix }, 3), ORIGIN);
      expect(map.sources[3]).toMatchObject({ prefix });
    }
  });

  it('refuses an s3 prefix without {userId}', () => {
    expect(problemsOf(mapWith({ prefix: 'users/' }, 3))).toEqual([
      '  - sources[3] ("attachments").prefix: must contain {userId}, or every user would read the same data',
      '  - sources[3] ("attachments").prefix: must have "/" right after {userId} and end with "/", so user "u-1" never matches "u-10"',
    ]);
  });

  it('refuses duplicate source ids, naming the second one', () => {
    expect(problemsOf(mapWith({ id: 'profile' }, 2))).toEqual(['  - sources[2] ("profile").id: duplicates source id "profile"']);
  });

  it('refuses unknown fields such as a "sortkey" typo, naming the field', () => {
    const { sortKey: _sortKey, ...rest } = messages;
    expect(problemsOf({ sources: [profile, { ...rest, sortkey: 'sk' }] }).sort()).toEqual(
      ['  - sources[1] ("messages").sortKeyPrefix: needs "sortKey" to name the attribute the prefix applies to', '  - sources[1] ("messages"): Unrecognized key: "sortkey"'].sort(),
    );
  });

  it('refuses an unknown top-level field', () => {
    expect(problemsOf(mapWith({}, 1, { source: [] }))).toEqual(['  - (the whole file): Unrecognized key: "source"']);
  });

  it('refuses a source of an unknown type', () => {
    expect(problemsOf(mapWith({ type: 'rds' }))).toEqual(['  - sources[1] ("messages").type: must have "type" "dynamodb", "s3", "postgres" or "cognito"']);
  });

  it('refuses a source without a type', () => {
    const { type: _type, ...untyped } = messages;
    expect(problemsOf({ sources: [profile, untyped] })).toEqual(['  - sources[1] ("messages").type: must have "type" "dynamodb", "s3", "postgres" or "cognito"']);
  });

  it('refuses a recipient pointing at a missing source', () => {
    expect(problemsOf(mapWith({}, 1, { recipient: { sourceId: 'accounts', attribute: 'email' } }))).toEqual(['  - recipient.sourceId: must name a dynamodb source of this map']);
  });

  it('refuses a recipient pointing at an s3 source', () => {
    expect(problemsOf(mapWith({}, 1, { recipient: { sourceId: 'attachments', attribute: 'email' } }))).toEqual(['  - recipient.sourceId: must name a dynamodb source of this map']);
  });

  it('refuses a recipient attribute the source excludes or does not include', () => {
    expect(problemsOf(mapWith({}, 1, { recipient: { sourceId: 'profile', attribute: 'passwordHash' } }))).toEqual([
      '  - recipient.attribute: is not exported by source "profile", so it cannot be read for the recipient',
    ]);
    const allowList = mapWith({ exclude: undefined, include: ['userId', 'name'] }, 0, { recipient: { sourceId: 'profile', attribute: 'email' } });
    expect(problemsOf(allowList)).toEqual(['  - recipient.attribute: is not exported by source "profile", so it cannot be read for the recipient']);
  });

  it('accepts a recipient attribute the source exports', () => {
    const map = parseDataMap(mapWith({}, 1, { recipient: { sourceId: 'profile', attribute: 'email' } }), ORIGIN);
    expect(map.recipient).toEqual({ sourceId: 'profile', attribute: 'email' });
  });

  it('refuses a map without sources', () => {
    expect(problemsOf({ sources: [] })).toEqual(['  - sources: must list at least one source']);
    expect(problemsOf({})).toEqual(['  - sources: Invalid input: expected array, received undefined']);
  });

  it('refuses a value that is not an object', () => {
    expect(problemsOf([])).toHaveLength(1);
    expect(problemsOf(null)[0]).toMatch(/^ {2}- \(the whole file\): /);
  });

  it('reports several problems in different sources at once, one line each', () => {
    const map = { sources: [{ ...profile, category: 'accounts' }, { ...messages, keyTemplate: 'MSG' }, usage, { ...attachments, prefix: 'u/{userId}' }] };
    expect(problemsOf(map)).toEqual([
      '  - sources[0] ("profile").category: must be one of: account, payment, profile, communication, usage, device, location, performance',
      '  - sources[1] ("messages").keyTemplate: must contain {userId}, or every user would read the same data',
      '  - sources[3] ("attachments").prefix: must have "/" right after {userId} and end with "/", so user "u-1" never matches "u-10"',
    ]);
  });

  it('reports a duplicate id together with a field problem in another source', () => {
    const map = { sources: [{ ...profile, category: 'accounts' }, messages, { ...usage, id: 'messages' }] };
    expect(problemsOf(map).sort()).toEqual([
      '  - sources[0] ("profile").category: must be one of: account, payment, profile, communication, usage, device, location, performance',
      '  - sources[2] ("messages").id: duplicates source id "messages"',
    ]);
  });

  it('reports sortKeyPrefix without sortKey together with another problem in the same source', () => {
    const { sortKey: _sortKey, ...withoutSortKey } = messages;
    expect(problemsOf({ sources: [profile, { ...withoutSortKey, category: 'chat' }] }).sort()).toEqual([
      '  - sources[1] ("messages").category: must be one of: account, payment, profile, communication, usage, device, location, performance',
      '  - sources[1] ("messages").sortKeyPrefix: needs "sortKey" to name the attribute the prefix applies to',
    ]);
  });

  it('accepts descriptions of a source’s fields, on every store type, and refuses an empty one', () => {
    const described = { ...profile, fields: { userId: 'Your account number.', ghost: 'No record has this attribute.' } };
    expect(parseDataMap({ sources: [described, { ...attachments, fields: {} }] }).sources[0]?.fields).toEqual(described.fields);
    expect(problemsOf({ sources: [{ ...profile, fields: { userId: '' } }] })[0]).toMatch(/^ {2}- sources\[0\] \("profile"\)\.fields\.userId: /);
    expect(problemsOf({ sources: [{ ...profile, fields: { email: 3 } }] })).toHaveLength(1);
  });

  it('validates category policy overrides', () => {
    expect(problemsOf(mapWith({}, 1, { categories: { account: { titel: 'x' } } }))).toEqual(['  - categories.account: Unrecognized key: "titel"']);
    expect(problemsOf(mapWith({}, 1, { categories: { marketing: { title: 'x' } } }))).toHaveLength(1);
  });
});

describe('loadDataMapFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'data-map-test-'));

  it('loads a valid file', () => {
    const path = join(dir, 'valid.json');
    writeFileSync(path, JSON.stringify(mapWith({})));
    expect(loadDataMapFile(path).sources).toHaveLength(4);
  });

  it('names the path of a missing file', () => {
    const path = join(dir, 'missing.json');
    expect(() => loadDataMapFile(path)).toThrow(DataMapError);
    expect(() => loadDataMapFile(path)).toThrow(`Cannot read the data map file ${path}: ENOENT.`);
  });

  it('names the path of a file that is not JSON', () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ "sources": [ ');
    expect(() => loadDataMapFile(path)).toThrow(DataMapError);
    expect(() => loadDataMapFile(path)).toThrow(`The data map file ${path} is not valid JSON: `);
  });

  it('names the path of a file whose content is not a valid map', () => {
    const path = join(dir, 'invalid.json');
    writeFileSync(path, JSON.stringify({ sources: [] }));
    expect(() => loadDataMapFile(path)).toThrow(`The data map file ${path} is not a valid data map:\n  - sources: must list at least one source`);
  });
});

describe('renderKeyTemplate', () => {
  it('replaces every {userId} with the user id', () => {
    expect(renderKeyTemplate('{userId}', 'u-1')).toBe('u-1');
    expect(renderKeyTemplate('USER#{userId}', 'u-1')).toBe('USER#u-1');
    expect(renderKeyTemplate('users/{userId}/x/{userId}/', 'u-1')).toBe('users/u-1/x/u-1/');
  });

  it('inserts user ids literally, even ones that look like replacement patterns', () => {
    expect(renderKeyTemplate('USER#{userId}', "$&$1$'")).toBe("USER#$&$1$'");
  });
});

describe('selectSources', () => {
  const map: DataMap = parseDataMap(mapWith({}), ORIGIN);

  it('returns every source when no category is requested', () => {
    expect(selectSources(map).map((s) => s.id)).toEqual(['profile', 'messages', 'usage-events', 'attachments']);
    expect(selectSources(map, []).map((s) => s.id)).toEqual(['profile', 'messages', 'usage-events', 'attachments']);
  });

  it('returns the sources of the requested categories in data map order', () => {
    expect(selectSources(map, ['communication']).map((s) => s.id)).toEqual(['messages', 'attachments']);
    expect(selectSources(map, ['usage', 'account']).map((s) => s.id)).toEqual(['profile', 'usage-events']);
    expect(selectSources(map, ['location'])).toEqual([]);
  });
});

describe('categoryPolicy', () => {
  it('returns the privacy policy defaults without overrides', () => {
    const map = parseDataMap(mapWith({}), ORIGIN);
    expect(categoryPolicy(map, 'payment')).toEqual(DEFAULT_CATEGORY_POLICIES.payment);
  });

  it('overrides only the fields the map sets, for that category only', () => {
    const map = parseDataMap(mapWith({}, 1, { categories: { account: { title: 'Your account', retention: '30 days.' } } }), ORIGIN);
    expect(categoryPolicy(map, 'account')).toEqual({ ...DEFAULT_CATEGORY_POLICIES.account, title: 'Your account', retention: '30 days.' });
    expect(categoryPolicy(map, 'usage')).toEqual(DEFAULT_CATEGORY_POLICIES.usage);
  });
});
