// The seed file (README, "The seed file"): a seed is validated before anything is created, with errors naming
// the field, and its tables must fit the data map's keys.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDataMap, type DataMap } from '../../lambdas/core/data-map/data-map.ts';
import { SeedError } from '../../lambdas/core/platform/errors.ts';
import { loadSeedFile, parseSeed, resolveTableSchemas } from '../../local/seed.ts';

const ORIGIN = 'seeds/test.json';

/** A map of one dynamodb source per entry (id, table, keys), parsed like the real one. */
function dataMapOf(...sources: Record<string, unknown>[]): DataMap {
  return parseDataMap(
    {
      sources: sources.map((s, i) => ({ id: `source-${i}`, category: 'account', type: 'dynamodb', partitionKey: 'userId', keyTemplate: '{userId}', ...s })),
    },
    'test data map',
  );
}

/** The problem lines of the SeedError that `run` throws, after checking its first line. */
function problemsOf(run: () => unknown, firstLine: string): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SeedError);
    const [first, ...lines] = (error as Error).message.split('\n');
    expect(first).toBe(firstLine);
    return lines;
  }
  throw new Error('the seed was accepted');
}

const parseProblems = (value: unknown): string[] => problemsOf(() => parseSeed(value, ORIGIN), `${ORIGIN} is not a valid seed:`);
const fitProblems = (seed: unknown, map: DataMap): string[] => problemsOf(() => resolveTableSchemas(parseSeed(seed, ORIGIN), map, ORIGIN), `${ORIGIN} does not fit the data map:`);

const VALUE_MESSAGE = 'must be a DynamoDB JSON value such as {"S": "text"} or {"N": "1.5"}';

describe('parseSeed', () => {
  it('accepts the contract’s shape with every attribute type', () => {
    const value = {
      tables: {
        Users: [
          {
            userId: { S: 'u-1' },
            age: { N: '42' },
            big: { N: '12345678901234567890123456789012345678' },
            avatar: { B: 'AAEC/w==' },
            active: { BOOL: true },
            nickname: { NULL: true },
            tags: { SS: ['a', 'b'] },
            scores: { NS: ['1', '-2.5e3'] },
            keys: { BS: ['AA==', 'AQ=='] },
            history: { L: [{ S: 'x' }, { M: { n: { N: '.5' } } }] },
            address: { M: { city: { S: 'Köln' } } },
          },
        ],
      },
      schemas: { Events: { partitionKey: 'id', sortKey: 'at', indexes: { byUser: { partitionKey: 'userId', sortKey: 'at' } } } },
      objects: [{ bucket: 'uploads', key: 'users/u-1/a.txt', base64: 'aGVsbG8=' }],
    };
    expect(parseSeed(value, ORIGIN)).toEqual(value);
  });

  it('fills absent sections with empty ones', () => {
    expect(parseSeed({}, ORIGIN)).toEqual({ tables: {}, schemas: {}, objects: [] });
  });

  it('refuses a number not written as a string, naming the field path', () => {
    expect(parseProblems({ tables: { Users: [{ userId: { S: 'u-1' }, age: { N: 42 } }] } })).toEqual(['  - tables.Users[0].age.N: must be a number written as a string']);
  });

  it('refuses a number string that is not a number', () => {
    expect(parseProblems({ tables: { Users: [{ userId: { S: 'u-1' }, age: { N: 'forty' } }] } })).toEqual([`  - tables.Users[0].age.N: must be a number written as a string`]);
  });

  it('refuses an unknown attribute type', () => {
    expect(parseProblems({ tables: { Users: [{ userId: { S: 'u-1' }, when: { DATE: '2024-01-01' } }] } })).toEqual([`  - tables.Users[0].when: ${VALUE_MESSAGE}`]);
  });

  it('refuses a value with two types', () => {
    expect(parseProblems({ tables: { Users: [{ x: { S: 'a', N: '1' } }] } })).toEqual([`  - tables.Users[0].x: ${VALUE_MESSAGE}`]);
  });

  it('refuses bad base64 in binary attributes and objects', () => {
    expect(parseProblems({ tables: { Users: [{ photo: { B: 'not base64!' } }] } })).toEqual(['  - tables.Users[0].photo.B: must be base64']);
    expect(parseProblems({ objects: [{ bucket: 'uploads', key: 'a.txt', base64: '%%%' }] })).toEqual(['  - objects[0].base64: must be base64']);
  });

  it('refuses base64 whose length no encoding can have', () => {
    // Five characters cannot be base64; Buffer.from would silently drop the last one.
    expect(parseProblems({ objects: [{ bucket: 'uploads', key: 'a.txt', base64: 'aGVsb' }] })).toEqual(['  - objects[0].base64: must be base64']);
  });

  it('refuses a bad bucket name', () => {
    expect(parseProblems({ objects: [{ bucket: 'My_Uploads', key: 'a.txt', base64: '' }] })).toEqual(['  - objects[0].bucket: must be an S3 bucket name']);
  });

  it('refuses duplicate set members', () => {
    expect(parseProblems({ tables: { Users: [{ tags: { SS: ['a', 'a'] } }] } })).toEqual(['  - tables.Users[0].tags.SS: a set must not repeat a value']);
    expect(parseProblems({ tables: { Users: [{ n: { NS: ['1', '1'] } }] } })).toEqual(['  - tables.Users[0].n.NS: a set must not repeat a value']);
  });

  it('refuses empty sets', () => {
    expect(parseProblems({ tables: { Users: [{ tags: { SS: [] } }] } })).toEqual(['  - tables.Users[0].tags.SS: a set must not be empty']);
    expect(parseProblems({ tables: { Users: [{ keys: { BS: [] } }] } })).toEqual(['  - tables.Users[0].keys.BS: a set must not be empty']);
  });

  it('refuses an unknown top-level field, naming it', () => {
    expect(parseProblems({ table: {} })).toEqual(['  - (the whole file): Unrecognized key: "table"']);
  });

  it('refuses an invalid table name', () => {
    expect(parseProblems({ tables: { 'a b': [] } })).toHaveLength(1);
    expect(parseProblems({ tables: { 'a b': [] } })[0]).toMatch(/^ {2}- tables\.a b: /);
  });

  it('names nested paths inside lists and maps', () => {
    expect(parseProblems({ tables: { Users: [{}, { doc: { M: { list: { L: [{ S: 'ok' }, { N: 1 }, { X: 1 }] } } } }] } })).toEqual([
      '  - tables.Users[1].doc.M.list.L[1].N: must be a number written as a string',
      `  - tables.Users[1].doc.M.list.L[2]: ${VALUE_MESSAGE}`,
    ]);
  });

  it('reports several problems at once', () => {
    expect(parseProblems({ tables: { Users: [{ a: { N: 1 } }] }, objects: [{ bucket: 'B', key: 'k', base64: '' }], extra: true })).toEqual([
      '  - tables.Users[0].a.N: must be a number written as a string',
      '  - objects[0].bucket: must be an S3 bucket name',
      '  - (the whole file): Unrecognized key: "extra"',
    ]);
  });
});

describe('resolveTableSchemas', () => {
  it('keys a table without a schema by the data map partition and sort keys', () => {
    const map = dataMapOf({ table: 'Users' }, { table: 'Messages', sortKey: 'sk', sortKeyPrefix: 'MSG#' });
    const seed = parseSeed({ tables: { Users: [{ userId: { S: 'u-1' } }], Messages: [{ userId: { S: 'u-1' }, sk: { S: 'MSG#1' } }] } }, ORIGIN);
    const schemas = resolveTableSchemas(seed, map, ORIGIN);
    expect([...schemas.keys()].sort()).toEqual(['Messages', 'Users']);
    expect(schemas.get('Users')).toEqual({ partitionKey: 'userId' });
    expect(schemas.get('Messages')).toEqual({ partitionKey: 'userId', sortKey: 'sk' });
  });

  it('creates tables the data map names even when the seed has no items for them', () => {
    const schemas = resolveTableSchemas(parseSeed({}, ORIGIN), dataMapOf({ table: 'Users' }), ORIGIN);
    expect(schemas.get('Users')).toEqual({ partitionKey: 'userId' });
  });

  it('keeps an explicit schema that agrees with the data map', () => {
    const map = dataMapOf({ table: 'UsageEvents', index: 'byUser', sortKey: 'at' });
    const explicit = { partitionKey: 'eventId', indexes: { byUser: { partitionKey: 'userId', sortKey: 'at' } } };
    const seed = parseSeed({ schemas: { UsageEvents: explicit }, tables: { UsageEvents: [{ eventId: { S: 'e-1' }, userId: { S: 'u-1' }, at: { S: '2024' } }] } }, ORIGIN);
    expect(resolveTableSchemas(seed, map, ORIGIN).get('UsageEvents')).toEqual(explicit);
  });

  it('refuses an index source without schemas, naming the table and index', () => {
    const map = dataMapOf({ table: 'UsageEvents', index: 'byUser' });
    expect(fitProblems({}, map)).toEqual([
      `  - table "UsageEvents" is read through index "byUser" by source "source-0", so ${ORIGIN} needs schemas.UsageEvents with the table's keys and indexes.byUser`,
    ]);
  });

  it('refuses a schema that lacks the index a source reads', () => {
    const map = dataMapOf({ table: 'UsageEvents', index: 'byUser' });
    expect(fitProblems({ schemas: { UsageEvents: { partitionKey: 'eventId' } } }, map)).toEqual(['  - schemas.UsageEvents.indexes has no "byUser", which source "source-0" reads']);
  });

  it('refuses a seed table absent from the data map without a schema', () => {
    expect(fitProblems({ tables: { Orphans: [{ id: { S: '1' } }] } }, dataMapOf({ table: 'Users' }))).toEqual([
      '  - tables.Orphans is not in the data map and has no schemas.Orphans, so its keys are unknown',
    ]);
  });

  it('accepts a seed table absent from the data map when it has a schema', () => {
    const seed = parseSeed({ tables: { Extra: [{ id: { S: '1' } }] }, schemas: { Extra: { partitionKey: 'id' } } }, ORIGIN);
    expect(resolveTableSchemas(seed, dataMapOf({ table: 'Users' }), ORIGIN).get('Extra')).toEqual({ partitionKey: 'id' });
  });

  it('refuses an explicit schema whose partition key disagrees with the data map', () => {
    expect(fitProblems({ schemas: { Users: { partitionKey: 'id' } } }, dataMapOf({ table: 'Users' }))).toEqual([
      '  - schemas.Users is keyed by "id", but source "source-0" reads it by "userId"',
    ]);
  });

  it('refuses an explicit schema whose sort key disagrees with the data map', () => {
    const map = dataMapOf({ table: 'Messages', sortKey: 'sk' });
    expect(fitProblems({ schemas: { Messages: { partitionKey: 'userId', sortKey: 'sentAt' } } }, map)).toEqual([
      '  - schemas.Messages is keyed by "userId" + "sentAt", but source "source-0" reads it by "userId" + "sk"',
    ]);
  });

  it('refuses an index schema whose keys disagree with the data map', () => {
    const map = dataMapOf({ table: 'UsageEvents', index: 'byUser' });
    const seed = { schemas: { UsageEvents: { partitionKey: 'eventId', indexes: { byUser: { partitionKey: 'user' } } } } };
    expect(fitProblems(seed, map)).toEqual(['  - schemas.UsageEvents.indexes.byUser is keyed by "user", but source "source-0" reads it by "userId"']);
  });

  it('refuses a key attribute that is not a string', () => {
    const map = dataMapOf({ table: 'Messages', sortKey: 'sk' });
    expect(fitProblems({ tables: { Messages: [{ userId: { S: 'u-1' }, sk: { N: '1' } }] } }, map)).toEqual([
      '  - tables.Messages[0].sk is a key attribute and must be a string ({"S": …})',
    ]);
  });

  it('refuses an index key attribute that is not a string', () => {
    const map = dataMapOf({ table: 'UsageEvents', index: 'byUser' });
    const seed = {
      schemas: { UsageEvents: { partitionKey: 'eventId', indexes: { byUser: { partitionKey: 'userId' } } } },
      tables: { UsageEvents: [{ eventId: { S: 'e-1' }, userId: { N: '1' } }] },
    };
    expect(fitProblems(seed, map)).toEqual(['  - tables.UsageEvents[0].userId is a key attribute and must be a string ({"S": …})']);
  });

  it('refuses an item missing a key attribute', () => {
    const map = dataMapOf({ table: 'Messages', sortKey: 'sk' });
    expect(fitProblems({ tables: { Messages: [{ userId: { S: 'u-1' }, sk: { S: 'MSG#1' } }, { userId: { S: 'u-1' } }] } }, map)).toEqual([
      '  - tables.Messages[1] lacks its key attribute "sk"',
    ]);
  });

  it('allows an item without an index key (a sparse index)', () => {
    const map = dataMapOf({ table: 'UsageEvents', index: 'byUser' });
    const seed = parseSeed(
      { schemas: { UsageEvents: { partitionKey: 'eventId', indexes: { byUser: { partitionKey: 'userId' } } } }, tables: { UsageEvents: [{ eventId: { S: 'e-1' } }] } },
      ORIGIN,
    );
    expect(resolveTableSchemas(seed, map, ORIGIN).get('UsageEvents')).toEqual({ partitionKey: 'eventId', indexes: { byUser: { partitionKey: 'userId' } } });
  });

  it('reports every problem at once', () => {
    const map = dataMapOf({ table: 'Users' }, { table: 'UsageEvents', index: 'byUser' });
    const seed = { tables: { Users: [{ name: { S: 'x' } }], Orphans: [] } };
    expect(fitProblems(seed, map)).toEqual([
      `  - table "UsageEvents" is read through index "byUser" by source "source-1", so ${ORIGIN} needs schemas.UsageEvents with the table's keys and indexes.byUser`,
      '  - tables.Orphans is not in the data map and has no schemas.Orphans, so its keys are unknown',
      '  - tables.Users[0] lacks its key attribute "userId"',
    ]);
  });
});

describe('loadSeedFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seed-test-'));

  it('loads a valid file', () => {
    const path = join(dir, 'valid.json');
    writeFileSync(path, JSON.stringify({ tables: { Users: [{ userId: { S: 'u-1' } }] } }));
    expect(loadSeedFile(path)).toEqual({ tables: { Users: [{ userId: { S: 'u-1' } }] }, schemas: {}, objects: [] });
  });

  it('names the path of a missing file', () => {
    const path = join(dir, 'missing.json');
    expect(() => loadSeedFile(path)).toThrow(SeedError);
    expect(() => loadSeedFile(path)).toThrow(`Cannot read the seed file ${path}: ENOENT.`);
  });

  it('names the path of a file that is not JSON', () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{"tables": ');
    expect(() => loadSeedFile(path)).toThrow(SeedError);
    expect(() => loadSeedFile(path)).toThrow(`The seed file ${path} is not valid JSON: `);
  });

  it('names the path of a file whose content is not a valid seed', () => {
    const path = join(dir, 'invalid.json');
    writeFileSync(path, JSON.stringify({ objects: [{ bucket: 'x', key: 'k', base64: '' }] }));
    expect(() => loadSeedFile(path)).toThrow(`The seed file ${path} is not a valid seed:\n  - objects[0].bucket: must be an S3 bucket name`);
  });
});
