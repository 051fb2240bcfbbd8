// A person on the account page, in a real browser: Debian's Chromium driven by playwright-core (which
// downloads no browser). Sign in, "Export my data", watch it become READY, open the link in the local
// inbox, and check the ZIP that the browser downloaded.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchive, verifyArchive } from '../../local/archive-reader.ts';
import type { AboutThisExport } from '../../lambdas/core/archive/about-this-export.ts';
import { accessibilityViolations } from '../support/axe.ts';
import { startLocalServer, type LocalServer } from '../../local/local-server.ts';
import { launchChromium } from '../support/chromium.ts';

const downloads = mkdtempSync(join(tmpdir(), 'browser-'));
const SCREENSHOTS = join(process.cwd(), 'test-results');
mkdirSync(SCREENSHOTS, { recursive: true });
let server: LocalServer;
let browser: Browser;

beforeAll(async () => {
  server = await startLocalServer();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the account page', () => {
  it('exports my data: sign in, click, watch it become ready, download through the emailed link', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.getByTestId('user-id').fill('u-1002');
    await page.getByTestId('sign-in').click();
    await page.getByTestId('format-json').check();
    await page.getByTestId('export').click();

    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 30_000 }).toBe('READY');
    // The status line turns READY before the history's own refresh answers, so wait for that too.
    await expect.poll(() => page.getByTestId('history').textContent()).toContain('READY');
    expect(await page.getByTestId('history').locator('tr').count()).toBe(1);
    expect(await page.locator('#current-next').textContent()).toMatch(/We emailed a download link to marcus\.chen@example\.org; it works until/);

    await page.getByTestId('inbox').click();
    const email = page.getByTestId('email').first();
    expect(await email.locator('h2').textContent()).toBe('Your data export is ready to download');
    const [download] = await Promise.all([page.waitForEvent('download'), email.getByTestId('email-link').click()]);
    expect(download.suggestedFilename()).toMatch(/^user-data-export-[0-9a-f-]+\.zip$/);
    const path = join(downloads, download.suggestedFilename());
    await download.saveAs(path);

    const check = await verifyArchive(path);
    expect(check.problems).toEqual([]);
    expect(check.manifest.userId).toBe('u-1002');
    expect(check.manifest.formats).toEqual(['json']);
    expect(check.manifest.files.filter((f) => f.format === 'csv')).toEqual([]);
    expect(new Set(check.manifest.sources.map((s) => s.category)).size).toBe(8);
    await context.close();
  });

  it('exports only the kinds of data and the days the user chose, and the answer says so', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.getByTestId('user-id').fill('u-1003');
    await page.getByTestId('sign-in').click();
    for (const category of ['profile', 'device', 'location', 'performance']) await page.getByTestId(`category-${category}`).uncheck();
    await page.getByTestId('since').fill('2026-05-30');
    await page.getByTestId('until').fill('2026-05-31');
    await page.getByTestId('export').click();
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 30_000 }).toBe('READY');

    await page.getByTestId('inbox').click();
    const email = page.getByTestId('email').first();
    const [download] = await Promise.all([page.waitForEvent('download'), email.getByTestId('email-link').click()]);
    const path = join(downloads, `chosen-${download.suggestedFilename()}`);
    await download.saveAs(path);
    expect((await verifyArchive(path)).problems).toEqual([]);
    const entries = await readArchive(path);
    const about = JSON.parse(entries.get('about-this-export.json')?.toString('utf8') ?? 'null') as AboutThisExport;
    expect(about.request).toMatchObject({
      requestedBy: 'self',
      categories: ['account', 'payment', 'communication', 'usage'],
      since: '2026-05-30T00:00:00.000Z',
      until: '2026-05-31T23:59:59.999Z',
    });
    expect(about.categories.map((c) => c.category)).toEqual(['account', 'payment', 'communication', 'usage']);
    await context.close();
  });

  it('passes axe-core, signed out and signed in with an export under way', async () => {
    // axe-core's runner needs a page of a context of its own.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByTestId('user-id').fill('u-10010');
    await page.getByTestId('sign-in').click();
    await page.getByTestId('export').click();
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 30_000 }).toBe('READY');
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'account-page.png'), fullPage: true });
    await context.close();
  });

  it('shows a queued export’s place while it waits for a free slot, and cancels it', async () => {
    const cap = Number(server.stack.functionRuntime('UserApi').env.MAX_CONCURRENT_EXPORTS);
    const ghosts = Array.from({ length: cap }, () => crypto.randomUUID());
    for (const ghost of ghosts) await server.stack.jobs.admission.acquire(ghost, cap);
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}/`);
      await page.getByTestId('user-id').fill('u-heavy');
      await page.getByTestId('sign-in').click();
      await page.getByTestId('export').click();
      await expect.poll(() => page.locator('#current-next').textContent()).toMatch(/^Waiting for a free place: you are next\. Exports start in the order they were asked for/);
      expect(await page.getByTestId('status').textContent()).toBe('QUEUED');
      await expect.poll(() => page.getByTestId('history').textContent()).toContain('QUEUED (waiting, 0 ahead)');
      await page.getByTestId('cancel').click();
      await expect.poll(() => page.getByTestId('status').textContent()).toBe('CANCELLED');
      const [job] = await server.stack.jobs.listByUser('u-heavy', 1);
      expect(job).toMatchObject({ status: 'CANCELLED' });
      expect(job?.admittedAt).toBeUndefined();
    } finally {
      await page.close();
      for (const ghost of ghosts) await server.stack.jobs.admission.release(ghost);
    }
  });

  it('tells a signed-in user why a second export must wait', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.getByTestId('user-id').fill('u-1002');
    await page.getByTestId('sign-in').click();
    await page.getByTestId('export').click();
    await expect.poll(() => page.getByTestId('export-error').textContent()).toMatch(/^You already received an export of your data recently\. You can request the next one after/);
    await page.close();
  });

  it('refuses to sign in an account that does not exist', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.getByTestId('user-id').fill('u-nobody');
    await page.getByTestId('sign-in').click();
    await expect.poll(() => page.locator('#sign-in-error').textContent()).toBe('There is no account "u-nobody" in the local data.');
    await page.close();
  });
});
