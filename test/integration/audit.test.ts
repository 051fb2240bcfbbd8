// The audit trail stays bounded: the support route pages it (limit plus an opaque cursor that only ever
// continues the same user's trail), and every row carries the table's TTL, so IPs and browsers are gone
// after the retention (400 days unless configured).
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, SupportClient } from '../../cli/support-client.ts';
import { EmbeddedStack, LOCAL_JOBS_TABLE, LOCAL_REGION } from '../../local/embedded-stack.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'audit-'));
const dataMapFile = writeDataMap(dir, [{ id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' }]);
const EVENTS = 130;

let stack: EmbeddedStack;
let support: SupportClient;

beforeAll(async () => {
  stack = await EmbeddedStack.start({ dataMapFile, auditRetentionDays: 30 });
  await stack.loadSeed({ tables: { Users: ['busy', 'other'].map((u) => ({ userId: { S: u }, email: { S: `${u}@example.com` } })) }, schemas: {}, objects: [] });
  for (let i = 0; i < EVENTS; i += 1) {
    await stack.jobs.audit({
      userId: 'busy',
      exportId: `export-${String(i).padStart(4, '0')}`,
      action: 'download',
      actor: { id: 'busy', role: 'user' },
      at: new Date(Date.UTC(2026, 10, 1, 0, 0, i)).toISOString(),
    });
  }
  await stack.jobs.audit({ userId: 'other', exportId: 'export-other', action: 'download', actor: { id: 'other', role: 'user' } });
  support = new SupportClient({ apiUrl: stack.baseUrl, region: LOCAL_REGION, credentials: stack.identity.supportCredentials });
});

afterAll(async () => {
  await stack?.stop();
});

describe('the audit route', () => {
  it('pages a long trail, oldest first, 50 by default and at most 100, every event exactly once', async () => {
    const first = await support.auditPage('busy');
    expect(first.events).toHaveLength(50);
    expect(first.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const seen = [...first.events];
    for (let cursor = first.nextCursor; cursor;) {
      const page = await support.auditPage('busy', { limit: 100, cursor });
      expect(page.events.length).toBeLessThanOrEqual(100);
      seen.push(...page.events);
      cursor = page.nextCursor;
    }
    expect(seen.map((e) => e.exportId)).toEqual(Array.from({ length: EVENTS }, (_, i) => `export-${String(i).padStart(4, '0')}`));
    expect((await support.audit('busy')).length).toBe(EVENTS);
  });

  it('refuses a limit out of range, a cursor that is not one, and one of another user’s trail, with 400', async () => {
    for (const limit of [0, 101, -1]) await expect(support.auditPage('busy', { limit })).rejects.toMatchObject({ status: 400 });
    await expect(support.auditPage('busy', { cursor: 'not a cursor' })).rejects.toMatchObject({ status: 400 });
    const otherCursor = Buffer.from('AUDIT#2026-11-01T00:00:05.000Z#00000000-0000-4000-8000-000000000000').toString('base64url');
    // A well-formed cursor only ever continues the trail of the user in the path.
    const page = await support.auditPage('other', { cursor: otherCursor });
    expect(page.events.map((e) => e.exportId)).toEqual(['export-other']);
    const refused = await support.auditPage('busy', { cursor: Buffer.from('EXPORT#x').toString('base64url') }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).message).toBe('The cursor is not valid; pass the nextCursor of the previous page of this user’s audit trail.');
  });

  it('keeps each row for the audit retention only: its TTL is the event time plus the configured days', async () => {
    // A row the support API writes (its start), beside the ones written above.
    await stack.waitForExport((await support.start({ userId: 'other', reason: 'TICKET-7 audit retention', format: 'json' })).exportId);
    for (const user of ['busy', 'other']) {
      const rows = await stack.dynamodb.send(
        new QueryCommand({
          TableName: LOCAL_JOBS_TABLE,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :audit)',
          ExpressionAttributeValues: { ':pk': { S: `USER#${user}` }, ':audit': { S: 'AUDIT#' } },
        }),
      );
      expect(rows.Items?.length).toBeGreaterThan(1);
      for (const row of rows.Items ?? []) expect(Number(row.ttl?.N)).toBe(Math.floor(Date.parse(row.at?.S ?? '') / 1000) + 30 * 86_400);
    }
  });

  it('answers an unknown user 404 with a sentence, as every support route does', async () => {
    await expect(support.auditPage('nobody')).rejects.toMatchObject({ status: 404, message: 'There is no account with user id "nobody"; check the id in the support ticket.' });
    await expect(support.list('nobody')).rejects.toMatchObject({ status: 404 });
  });
});
