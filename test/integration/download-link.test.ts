// The emailed link through the local HTTP gateway and the real Download handler: every click is verified,
// recorded, and answered with a short-lived redirect; every bad link gets a page with a sentence.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../lambdas/core/jobs/job-store.ts';
import { issueToken } from '../../lambdas/core/delivery/link-token.ts';
import { EmbeddedStack, linkInEmail } from '../../local/embedded-stack.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'download-'));
const dataMapFile = writeDataMap(dir, [{ id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' }], 'data-map.json');

let stack: EmbeddedStack;
let jobA: Job;
let jobB: Job;
let linkA: string;

async function exportFor(userId: string): Promise<{ job: Job; link: string }> {
  const started = await stack.startExport({ userId, formats: ['json'], email: `${userId}@example.com`, actor: { id: userId, role: 'user' } });
  const { job } = await stack.waitForExport(started.exportId);
  const email = await stack.inbox.emailFor(`${userId}@example.com`, job.exportId);
  const link = email && linkInEmail(email);
  if (!link) throw new Error('no link');
  return { job, link };
}

beforeAll(async () => {
  stack = await EmbeddedStack.start({ dataMapFile });
  await stack.loadSeed({
    tables: {
      Users: [
        { userId: { S: 'u-a' }, name: { S: 'A' } },
        { userId: { S: 'u-b' }, name: { S: 'B' } },
      ],
    },
    schemas: {},
    objects: [],
  });
  ({ job: jobA, link: linkA } = await exportFor('u-a'));
  ({ job: jobB } = await exportFor('u-b'));
});

afterAll(async () => {
  await stack?.stop();
});

const get = (url: string) => fetch(url, { redirect: 'manual', headers: { 'user-agent': 'vitest-browser/1.0' } });
const tokenOf = (link: string) => new URL(link).searchParams.get('token') ?? '';

async function expectRefusal(url: string, status: number, sentence: RegExp) {
  const response = await get(url);
  const body = await response.text();
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(body).toMatch(sentence);
  expect(body).not.toMatch(/Error:|\bat .*\(|\.ts:\d+/);
}

describe('the download link', () => {
  it('redirects to a presigned URL that lives at most 60 seconds, and records who downloaded', async () => {
    const response = await get(linkA);
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.pathname).toContain(`/archives/${jobA.exportId}/`);
    expect(Number(location.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(60);
    expect(response.headers.get('cache-control')).toBe('no-store');

    const job = await stack.jobs.get(jobA.exportId);
    expect(job?.downloadCount).toBe(1);
    const downloads = (await stack.jobs.auditTrail('u-a')).filter((e) => e.action === 'download');
    expect(downloads).toHaveLength(1);
    expect(downloads[0]).toMatchObject({ exportId: jobA.exportId, userAgent: 'vitest-browser/1.0' });
    expect(downloads[0]?.ip).toMatch(/127\.0\.0\.1/);
  });

  it('refuses a token changed in a single character', async () => {
    const token = tokenOf(linkA);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    await expectRefusal(linkA.replace(token, token.slice(0, -1) + last), 403, /not valid; it may have been changed or cut off/);
  });

  it('refuses a link whose token is missing', async () => {
    await expectRefusal(`${stack.baseUrl}/exports/${jobA.exportId}/download`, 400, /missing its token/);
  });

  it('never opens export B with the token of export A', async () => {
    await expectRefusal(`${stack.baseUrl}/exports/${jobB.exportId}/download?token=${tokenOf(linkA)}`, 403, /does not belong to this export/);
  });

  it('answers an expired link with 410 and says when it expired', async () => {
    const token = await issueToken(stack.signer, { exportId: jobA.exportId, userId: 'u-a', linkId: jobA.linkId ?? '', expiresAt: Math.floor(Date.now() / 1000) - 5 });
    await expectRefusal(`${stack.baseUrl}/exports/${jobA.exportId}/download?token=${token}`, 410, /expired on .* request a new export/);
  });

  it('answers a genuine token for an export that does not exist with 404', async () => {
    const exportId = '00000000-0000-4000-8000-000000000000';
    const token = await issueToken(stack.signer, { exportId, userId: 'u-a', linkId: 'x', expiresAt: Math.floor(Date.now() / 1000) + 60 });
    await expectRefusal(`${stack.baseUrl}/exports/${exportId}/download?token=${token}`, 404, /no longer exists/);
  });

  it('refuses a link of an older generation once a newer one was issued', async () => {
    const token = await issueToken(stack.signer, { exportId: jobB.exportId, userId: 'u-b', linkId: 'an-older-link', expiresAt: Math.floor(Date.now() / 1000) + 60 });
    await expectRefusal(`${stack.baseUrl}/exports/${jobB.exportId}/download?token=${token}`, 410, /newer download link was sent/);
  });

  it('says in the email what is inside, how big it is and when the link expires', async () => {
    const email = await stack.inbox.emailFor('u-a@example.com', jobA.exportId);
    expect(email?.subject).toBe('Your data export is ready to download');
    expect(email?.body.text).toMatch(/Account information: 1 item/);
    expect(email?.body.text).toMatch(/one ZIP file of \d+(\.\d)? (bytes|KB)/);
    expect(email?.body.text).toContain(
      `The link works until ${new Date(jobA.linkExpiresAt ?? '').toLocaleString('en-US', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' })} UTC`,
    );
    expect(email?.body.html).toContain('Download my data');
  });
});
