// index.html as a person sees it: the archive built by the real bundler from hostile names, extracted
// with Info-ZIP unzip, and opened from the folder in Chromium, on a desktop screen and on a phone. The
// page must start with how to open it, never run off the screen sideways (long names wrap), show a
// renamed file's original name and a bidi override as what it is, and every link must open its file.
// The screenshots are kept in test-results/ for a person to look at.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { accessibilityViolations } from '../support/axe.ts';
import { buildStagedArchive, Folders, type StagedFile } from '../support/staged-archive.ts';

const run = promisify(execFile);
const SCREENSHOTS = join(process.cwd(), 'test-results');
const folders = new Folders();
let browser: Browser;
let extracted: string;

const LONG = `${'a-very-long-name-without-any-space-'.repeat(12)}end.txt`;
const files: StagedFile[] = [
  ...['CON.txt', 'notes.txt', 'NOTES.txt', 'rtl\u202etxt.exe', 'report?.pdf', 'שלום.txt', '日本 🎉.txt', LONG, `deep/${'folder-name-'.repeat(6)}/${'x'.repeat(90)}/file.txt`].map(
    (key) => ({
      key,
      bytes: Buffer.from(`contents of ${key}\n`),
    }),
  ),
];

beforeAll(async () => {
  const { parts } = await buildStagedArchive('page-0000-0001', folders, { files, records: 3 });
  extracted = folders.make('page-out-');
  await run('unzip', ['-q', parts[0] as string, '-d', extracted]);
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  folders.removeAll();
});

describe('index.html in Chromium, opened from the extracted folder', () => {
  it('answers the request before listing any file, and passes axe-core', async () => {
    // axe-core's runner needs a page of a context of its own.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(pathToFileURL(join(extracted, 'index.html')).href);
    const answer = await page.getByRole('heading', { name: 'Our answer to your request' }).boundingBox();
    const files = await page.getByRole('heading', { name: 'What is in it' }).boundingBox();
    expect(answer!.y).toBeLessThan(files!.y);
    for (const point of [
      'Who we are',
      'What you asked for',
      'Why we hold your data, and who receives it',
      'What we did not include',
      "Other people's data",
      'Your rights',
      'Complaints',
    ]) {
      expect(await page.getByRole('heading', { name: point, exact: true }).count(), point).toBe(1);
    }
    expect(await page.locator('#about-usage dt').allTextContents()).toEqual([
      'What it holds',
      'Why we hold it',
      'On what legal basis',
      'Where it comes from',
      'Who receives it',
      'How long we keep it',
      'Decisions made by machine',
    ]);
    expect(await accessibilityViolations(page)).toEqual([]);
    for (const summary of await page.locator('summary').all()) await summary.click();
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'index-page-answer.png'), fullPage: true });
    await context.close();
  });

  for (const screen of [
    { name: 'desktop', width: 1280, height: 800 },
    { name: 'phone', width: 390, height: 844 },
  ]) {
    it(`reads on a ${screen.name} screen: how to open it first, nothing off the side`, async () => {
      const page = await browser.newPage({ viewport: { width: screen.width, height: screen.height } });
      await page.goto(pathToFileURL(join(extracted, 'index.html')).href);
      const start = await page.getByRole('heading', { name: 'First, extract the ZIP file' }).boundingBox();
      expect(start, 'the extract instruction').not.toBeNull();
      expect(start!.y).toBeLessThan(screen.height / 2);
      const overflow = async () => Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
      expect(await overflow(), 'the page scrolls sideways: a name does not wrap').toBeLessThanOrEqual(0);
      // Open what is folded ("Technical details"), as a curious reader does, and check again.
      for (const summary of await page.locator('summary').all()) await summary.click();
      expect(await overflow()).toBeLessThanOrEqual(0);
      const shot = join(SCREENSHOTS, `index-page-${screen.name}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
      await page.close();
    });
  }

  it('shows each renamed file with its original name, and a bidi override as what it is', async () => {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(join(extracted, 'index.html')).href);
    const visible = await page.locator('body').innerText();
    expect(visible).toContain('Its original name: CON.txt');
    expect(visible).toContain('Its original name: report?.pdf');
    expect(visible).toContain('rtl⟨U+202E⟩txt.exe');
    expect(visible).not.toContain('\u202e');
    expect(visible).toContain('שלום.txt');
    expect(visible).toMatch(/We hold 3 records and 9 files you uploaded about you/);
    await page.close();
  });

  it('links every file so that it opens from the folder, and the links open what they name', async () => {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(join(extracted, 'index.html')).href);
    const links = await Promise.all((await page.locator('a[href]').all()).map((a) => a.getAttribute('href')));
    const targets = links.filter((href): href is string => href !== null && !href.startsWith('#') && !href.startsWith('mailto:')).map((href) => new URL(href, page.url()).href);
    // Each uploaded file, the records' JSON and CSV, and about-this-export.json.
    expect(targets.length).toBe(files.length + 3);
    for (const target of targets) expect(existsSync(fileURLToPath(target)), target).toBe(true);
    // Follow one link the way a person does, to the file named with Hebrew letters.
    await page.getByRole('link', { name: 'communication/attachments/שלום.txt' }).click();
    expect((await page.locator('body').innerText()).trimEnd()).toBe('contents of שלום.txt');
    await page.close();
  });
});
