// Every route of the user and support APIs over HTTP, through the local gateway and its authorizers:
// success paths, bad input, permission checks, the cooldown, resend, cancel and concurrent starts.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, SupportClient, type ExportView } from '../../cli/support-client.ts';
import { aroundCollectSource } from '../support/faults.ts';
import { EmbeddedStack, LOCAL_REGION, linkInEmail } from '../../local/embedded-stack.ts';
import { writeDataMap } from '../support/data-map-file.ts';
import { TestClock } from '../support/clock.ts';

const dir = mkdtempSync(join(tmpdir(), 'api-'));
const dataMapFile = writeDataMap(dir, [
  { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' },
  { id: 'events', category: 'usage', type: 'dynamodb', table: 'Events', partitionKey: 'userId', keyTemplate: '{userId}' },
]);
const USERS = ['ana', 'ben', 'cai', 'dee', 'eli', 'fay', 'gus', 'hal', 'ivy', 'jon', 'kim', 'slow'];

/** Exports of user "slow" hold in CollectSource until released, so a cancel meets them running. */
let releaseSlow: () => void = () => undefined;
let slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));

let stack: EmbeddedStack;
let support: SupportClient;

/** The stack's time: the cooldown test lets a day pass. */
const clock = new TestClock();

beforeAll(async () => {
  stack = await EmbeddedStack.start({
    dataMapFile,
    retryIntervalMs: 0,
    clock: clock.now,
    wrapTask: aroundCollectSource(async ({ userId }, collect) => {
      if (userId === 'slow') await slowGate;
      return collect();
    }),
  });
  await stack.loadSeed({
    tables: {
      Users: USERS.map((u) => ({ userId: { S: u }, email: { S: `${u}@example.com` } })),
      Events: USERS.map((u) => ({ userId: { S: u }, kind: { S: 'login' } })),
    },
    schemas: {},
    objects: [],
  });
  support = new SupportClient({ apiUrl: stack.baseUrl, region: LOCAL_REGION, credentials: stack.identity.supportCredentials });
});

afterAll(async () => {
  releaseSlow();
  await stack?.stop();
});

async function call(method: string, path: string, options: { token?: string; body?: string | object; headers?: Record<string, string> } = {}) {
  const body = typeof options.body === 'string' ? options.body : options.body === undefined ? undefined : JSON.stringify(options.body);
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}), ...options.headers },
    body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json().catch(() => null)) as Record<string, unknown> & ExportView };
}

async function startAndFinish(userId: string, token: string): Promise<ExportView> {
  const started = await call('POST', '/exports', { token, body: { format: 'json' } });
  expect(started.status).toBe(202);
  await stack.waitForExport(started.body.exportId);
  return (await call('GET', `/exports/${started.body.exportId}`, { token })).body;
}

describe('the user API', () => {
  it('starts an export for the token’s subject, shows its progress and history, and emails the link', async () => {
    const token = await stack.signIn('ana');
    const started = await call('POST', '/exports', { token, body: { format: 'csv', categories: ['usage'] } });
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe(`/exports/${started.body.exportId}`);
    expect(started.body).toMatchObject({ userId: 'ana', status: 'QUEUED', formats: ['csv'], categories: ['usage'], requestedBy: { role: 'user' } });
    await stack.waitForExport(started.body.exportId);
    const done = await call('GET', `/exports/${started.body.exportId}`, { token });
    expect(done.body).toMatchObject({ status: 'READY', progress: { sourcesTotal: 1, sourcesDone: 1, records: 1 }, sources: { events: { records: 1, done: true } } });
    expect(Date.parse(String(done.body.linkExpiresAt))).toBeGreaterThan(Date.now());
    const history = await call('GET', '/exports', { token });
    expect((history.body.exports as ExportView[]).map((e) => e.exportId)).toEqual([started.body.exportId]);
    expect(await stack.inbox.emailFor('ana@example.com', started.body.exportId)).toBeDefined();
  });

  it('refuses a second export within the cooldown with 429, Retry-After and a sentence saying when', async () => {
    const token = await stack.signIn('ben');
    await startAndFinish('ben', token);
    const again = await call('POST', '/exports', { token, body: {} });
    expect(again.status).toBe(429);
    const retryAfter = Number(again.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(23 * 3600);
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600);
    expect(again.body.message).toMatch(/^You already received an export of your data recently\. You can request the next one after .+ GMT;/);
    // A day later by the stack's clock, the cooldown is over.
    clock.advance(retryAfter * 1000);
    const later = await call('POST', '/exports', { token, body: {} });
    expect(later.status).toBe(202);
    await stack.waitForExport(String(later.body.exportId));
  });

  it('lets support start an export during the user’s cooldown', async () => {
    const token = await stack.signIn('cai');
    await startAndFinish('cai', token);
    const job = await support.start({ userId: 'cai', reason: 'TICKET-1001 locked account' });
    expect(job.status).toBe('QUEUED');
    await stack.waitForExport(job.exportId);
  });

  it('gives two concurrent starts one export, and a repeated start the active one', async () => {
    const token = await stack.signIn('slow');
    const [a, b] = await Promise.all([call('POST', '/exports', { token, body: {} }), call('POST', '/exports', { token, body: {} })]);
    expect([a.status, b.status].sort()).toEqual([200, 202]);
    expect(a.body.exportId).toBe(b.body.exportId);
    const third = await call('POST', '/exports', { token, body: { format: 'json' } });
    expect(third.status).toBe(200);
    expect(third.body.exportId).toBe(a.body.exportId);
    expect((await call('GET', '/exports', { token })).body.exports).toHaveLength(1);

    // Cancel it while it runs: CANCELLED, lock freed, staging gone, recorded.
    const cancelled = await call('DELETE', `/exports/${a.body.exportId}`, { token });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('CANCELLED');
    releaseSlow();
    const { outcome, job } = await stack.waitForExport(a.body.exportId);
    expect(outcome.status).toBe('ABORTED');
    expect(job.status).toBe('CANCELLED');
    expect(await stack.jobs.activeExportId('slow')).toBeUndefined();
    const staging = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.exportBucket, Prefix: `staging/${job.exportId}/` }));
    expect(staging.KeyCount ?? 0).toBe(0);
    expect((await stack.jobs.auditTrail('slow')).map((e) => e.action)).toEqual(['start', 'cancel']);
    const again = await call('DELETE', `/exports/${a.body.exportId}`, { token });
    expect(again.status).toBe(409);
    expect(again.body.message).toBe(`Export ${a.body.exportId} has already ended (CANCELLED); there is nothing to cancel.`);
    slowGate = Promise.resolve();
  });

  it('resends a fresh link: the new one downloads, the old one is refused', async () => {
    const token = await stack.signIn('dee');
    const job = await startAndFinish('dee', token);
    const oldLink = linkInEmail((await stack.inbox.emailFor('dee@example.com', job.exportId))!)!;
    const resent = await call('POST', `/exports/${job.exportId}/resend`, { token });
    expect(resent.status).toBe(200);
    const emails = (await stack.inbox.emails()).filter((e) => e.destination.to.includes('dee@example.com'));
    expect(emails).toHaveLength(2);
    const newLink = linkInEmail(emails[1]!)!;
    expect(newLink).not.toBe(oldLink);
    expect((await fetch(newLink, { redirect: 'manual' })).status).toBe(302);
    expect((await fetch(oldLink, { redirect: 'manual' })).status).toBe(410);
    // The new link's use is recorded; the refused old one is not a download.
    expect((await stack.jobs.auditTrail('dee')).map((e) => e.action)).toEqual(['start', 'ready', 'resend', 'download']);
  });

  it('answers bad input with 400 naming the field', async () => {
    const token = await stack.signIn('eli');
    const cases: [string | object, RegExp][] = [
      ['{"format": ', /^The request body is not valid JSON\.$/],
      [{ format: 'xml' }, /^The request is not valid: "format" /],
      [{ format: 'json', userId: 'someone-else' }, /^The request is not valid: unknown field "userId"\.$/],
      [{ categories: ['gossip'] }, /^The request is not valid: "categories\.0" /],
      [{ categories: 'usage' }, /^The request is not valid: "categories" /],
    ];
    for (const [body, message] of cases) {
      const response = await call('POST', '/exports', { token, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.message).toMatch(message);
    }
    expect(await stack.jobs.activeExportId('eli')).toBeUndefined();
  });

  it('answers 401 without a valid token, and 404 for an export that is not the caller’s', async () => {
    expect((await call('GET', '/exports')).status).toBe(401);
    expect((await call('POST', '/exports', { body: {} })).status).toBe(401);
    const token = await stack.signIn('fay');
    const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect((await call('GET', '/exports', { token: forged })).status).toBe(401);
    const expired = stack.identity.issueToken('fay', undefined, -10);
    expect((await call('GET', '/exports', { token: expired })).status).toBe(401);

    const other = await stack.signIn('gus');
    const gusJob = await startAndFinish('gus', other);
    for (const [method, path] of [
      ['GET', `/exports/${gusJob.exportId}`],
      ['POST', `/exports/${gusJob.exportId}/resend`],
      ['DELETE', `/exports/${gusJob.exportId}`],
    ] as const) {
      const response = await call(method, path, { token });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.body.message).toBe('There is no export with this id in your account.');
    }
    expect((await call('GET', '/exports/00000000-0000-4000-8000-000000000000', { token })).status).toBe(404);
  });

  it('answers 403 when a user calls a support route', async () => {
    const token = await stack.signIn('hal');
    const response = await call('POST', '/support/exports', { token, body: { userId: 'hal', reason: 'me' } });
    expect(response.status).toBe(403);
    expect((await call('GET', '/support/users/hal/audit', { token })).status).toBe(403);
  });
});

describe('the support API', () => {
  it('starts, reads, lists and audits exports for a customer, recording the agent and the reason', async () => {
    const job = await support.start({ userId: 'ivy', reason: 'TICKET-77', format: 'csv' });
    await stack.waitForExport(job.exportId);
    expect((await support.get(job.exportId)).status).toBe('READY');
    expect((await support.list('ivy')).map((j) => j.exportId)).toEqual([job.exportId]);
    const link = linkInEmail((await stack.inbox.emailFor('ivy@example.com', job.exportId))!)!;
    await fetch(link, { redirect: 'manual', headers: { 'user-agent': 'ivy-browser' } });
    await support.resend(job.exportId, 'customer asked again');
    const trail = await support.audit('ivy');
    expect(trail.map((e) => e.action)).toEqual(['start', 'ready', 'download', 'resend']);
    expect(trail[0]?.actor).toEqual({ id: stack.identity.supportArn, role: 'support', reason: 'TICKET-77' });
    expect(trail[2]).toMatchObject({ userAgent: 'ivy-browser', actor: { id: 'ivy', role: 'user' } });
    expect(trail[3]?.actor.reason).toBe('customer asked again');
  });

  it('requires a reason and a known user, with sentences', async () => {
    await expect(support.start({ userId: 'jon', reason: '' })).rejects.toThrow(/"reason" must say why, e.g. the ticket number/);
    const unknown = support.start({ userId: 'nobody-here', reason: 'TICKET-9' });
    await expect(unknown).rejects.toMatchObject({ status: 404, message: 'There is no account with user id "nobody-here"; check the id in the support ticket.' });
    await expect(support.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ status: 404 });
    await expect(support.list('bad/id')).rejects.toMatchObject({ status: 400, message: 'The user id must not contain "/", "\\", braces or control characters.' });
  });

  it('refuses unsigned requests and requests signed with other credentials (403)', async () => {
    expect((await call('GET', '/support/users/kim/exports')).status).toBe(403);
    const impostor = new SupportClient({
      apiUrl: stack.baseUrl,
      region: LOCAL_REGION,
      credentials: { accessKeyId: stack.identity.supportCredentials.accessKeyId, secretAccessKey: 'guessed' },
    });
    await expect(impostor.list('kim')).rejects.toMatchObject({ status: 403 });
    await expect(impostor.list('kim')).rejects.toBeInstanceOf(ApiError);
  });
});
