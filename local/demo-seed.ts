// The built-in demo data for config/data-map.json: a handful of marketplace users with records in every
// table and bucket the map names. Generated rather than stored so it stays small in the repo, and fully
// deterministic (own PRNG, fixed clock) so a demo archive is the same on every run and every machine.
//
// The users are chosen to catch mistakes, not just to fill tables:
// - u-1001 (the demo user) holds every DynamoDB value type and the awkward text an exporter must keep
//   exact or defuse: 38-digit and negative numbers, binary, sets, nesting, unicode, "", formulas, CSV
//   metacharacters; and fields (passwordHash, cardFingerprint…) that must never leave.
// - u-10010 shares a prefix with u-1001 in every id and S3 key, so a begins_with/prefix bug leaks it.
// - u-heavy has enough usage events that a DynamoDB Query returns several 1 MB pages.
import { addAccountRecords } from './demo-account-records.ts';
import { addActivityRecords } from './demo-activity-records.ts';
import { addAttachments, addCommunicationRecords } from './demo-communication-records.ts';
import { identityOf, listingReviewStatements, MARKETPLACE_SCHEMA, marketplaceStatements } from './demo-marketplace-records.ts';
import { DEMO_USER_ID, PEOPLE, userSeedContext, type Person, type Tables } from './demo-users.ts';
import { directMessages } from './demo-direct-messages.ts';
import type { Seed } from './seed.ts';

export { DEMO_USER_ID, DEMO_USERS } from './demo-users.ts';
export { DEMO_BUCKET } from './demo-communication-records.ts';
export { HEAVY_USAGE_EVENTS } from './demo-activity-records.ts';

function addUser(person: Person, tables: Tables, objects: Seed['objects']): void {
  const user = userSeedContext(person, tables, objects);
  // The builders draw in turn from the user's one generator, so this order fixes every value: keep it.
  addAccountRecords(user);
  addCommunicationRecords(user);
  addActivityRecords(user);
  addAttachments(user);
}

/** The demo seed: every table, object, database row and identity the demo data map reads, for every demo user. */
export function buildDemoSeed(): Seed {
  const tables: Tables = {};
  const objects: Seed['objects'] = [];
  for (const person of PEOPLE) addUser(person, tables, objects);
  tables.DirectMessages = directMessages();
  const statements = PEOPLE.flatMap((person, i) => marketplaceStatements(person, i, person.id === DEMO_USER_ID));
  return {
    postgres: { marketplace: [...MARKETPLACE_SCHEMA, ...statements, ...listingReviewStatements(PEOPLE)] },
    cognito: { customers: PEOPLE.map((person) => identityOf(person, person.id === DEMO_USER_ID)) },
    tables,
    schemas: {
      // Read through an index, so its own key must be declared (the data map only names the index's keys).
      UsageEvents: { partitionKey: 'eventId', indexes: { byUser: { partitionKey: 'userId', sortKey: 'occurredAt' } } },
      // Stored once, under the sender; read for its recipient through the index.
      DirectMessages: { partitionKey: 'senderId', sortKey: 'sk', indexes: { byRecipient: { partitionKey: 'recipientId', sortKey: 'sentAt' } } },
      // One table behind three sources (preferences, saved searches, saved vehicles); declared so its key
      // does not depend on which of them happens to come first in the data map.
      UserProfiles: { partitionKey: 'pk', sortKey: 'sk' },
    },
    objects,
  };
}
