// index.html as a letter to someone who is not an engineer: how to open the files first, dates in words,
// records and uploaded files counted apart and in the singular when there is one, every renamed file with
// its original name (shown as it is, bidi overrides visible), and the engineer's words (identifiers,
// ISO times, base64, SHA-256) only behind "Technical details".
import { describe, expect, it } from 'vitest';
import { parseDataMap } from '../../lambdas/core/data-map/data-map.ts';
import { renderIndexPage, visibleName } from '../../lambdas/core/archive/index-page.ts';
import { buildManifest, type Manifest, type ManifestFile } from '../../lambdas/core/archive/manifest.ts';
import { buildAboutThisExport } from '../../lambdas/core/archive/about-this-export.ts';
import { formatBytes } from '../../lambdas/core/delivery/wording.ts';
import { answerable, TEST_REQUEST } from '../support/answer-facts.ts';

const dataMap = parseDataMap(
  answerable({
    sources: [
      { id: 'user-profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}', description: 'Your account.' },
      { id: 'orders', category: 'payment', type: 'dynamodb', table: 'Orders', partitionKey: 'userId', keyTemplate: '{userId}' },
      { id: 'attachments', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
    ],
  }),
);

const file = (fields: Partial<ManifestFile> & Pick<ManifestFile, 'path' | 'sourceId' | 'category' | 'format'>): ManifestFile => ({
  bytes: 1200,
  sha256: 'a'.repeat(64),
  archivePart: 1,
  ...fields,
});

const EXPORT_ID = '7f3c2a10-5b4e-4c1d-9a8b-2f6e0d9c1b3a';
/** The page of a manifest, in an archive of `partCount` parts, with the answer built for its sources. */
function pageOf(of: Manifest, partCount = 1): string {
  const about = buildAboutThisExport(dataMap, {
    exportId: of.exportId,
    userId: of.userId,
    generatedAt: of.generatedAt,
    request: TEST_REQUEST,
    sourceIds: of.sources.map((s) => s.sourceId),
  });
  return renderIndexPage(of, dataMap, { partCount, about });
}

function manifest(files: ManifestFile[], attachments: number) {
  return buildManifest({
    exportId: EXPORT_ID,
    userId: 'u-1001',
    generatedAt: '2026-11-24T12:30:10.000Z',
    formats: ['json', 'csv'],
    sources: [
      { sourceId: 'user-profile', category: 'account', type: 'dynamodb', description: 'Your account.', status: 'complete', records: 1, readBudgetWaitSeconds: 0 },
      { sourceId: 'orders', category: 'payment', type: 'dynamodb', status: 'complete', records: 0, readBudgetWaitSeconds: 0 },
      { sourceId: 'attachments', category: 'communication', type: 's3', status: 'complete', records: attachments, readBudgetWaitSeconds: 0 },
    ],
    files,
    waited: { forSlotSeconds: 0, forReadBudgetsSeconds: 0 },
  });
}

const account = [file({ path: 'account/user-profile.json', sourceId: 'user-profile', category: 'account', format: 'json', records: 1 })];
const uploads = [
  file({ path: 'communication/attachments/photo.jpg', sourceId: 'attachments', category: 'communication', format: 'file', originalKey: 'photo.jpg', bytes: 2_400_000 }),
  file({ path: 'communication/attachments/_CON.txt', sourceId: 'attachments', category: 'communication', format: 'file', originalKey: 'CON.txt' }),
  file({ path: 'communication/attachments/notes (2).txt', sourceId: 'attachments', category: 'communication', format: 'file', originalKey: 'NOTES.txt' }),
  file({ path: 'communication/attachments/rtl_txt.exe', sourceId: 'attachments', category: 'communication', format: 'file', originalKey: 'rtl\u202etxt.exe' }),
  // Decomposed on the source, composed in the archive: the same name to a person, so not "renamed".
  file({ path: 'communication/attachments/caf\u00e9.txt', sourceId: 'attachments', category: 'communication', format: 'file', originalKey: 'cafe\u0301.txt' }),
];

/** The page a person sees before opening "Technical details". */
const firstLayer = (page: string) => page.replace(/<details>\s*<summary>Technical details<\/summary>[\s\S]*?<\/details>/, '');
const text = (html: string) =>
  html
    .replace(/<style>[\s\S]*?<\/style>/, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ');

describe('index.html', () => {
  const page = pageOf(manifest([...account, ...uploads], uploads.length));

  it('starts with how to open the files: extract the ZIP first, before any file is linked', () => {
    const extract = page.indexOf('First, extract the ZIP file');
    expect(extract).toBeGreaterThan(0);
    expect(extract).toBeLessThan(page.indexOf('href="account/'));
    expect(text(page)).toMatch(/The links on this page work only once the ZIP file has been extracted/);
    for (const system of ['Windows:', 'Mac:', 'Linux:', 'Phone or tablet:']) expect(text(page)).toContain(system);
  });

  it('gives the date in words and keeps identifiers, ISO times, base64 and SHA-256 behind "Technical details"', () => {
    expect(text(page)).toContain('as it stood on November 24, 2026 at 12:30 PM UTC');
    const visible = text(firstLayer(page));
    expect(visible).not.toContain(EXPORT_ID);
    expect(visible).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/);
    expect(visible).not.toMatch(/base64|SHA-256|sha256|u-1001/i);
    const details = page.slice(page.indexOf('<summary>Technical details</summary>'));
    for (const word of [EXPORT_ID, 'u-1001', '2026-11-24T12:30:10.000Z', 'SHA-256', 'base64']) expect(details).toContain(word);
  });

  it('counts records and uploaded files apart, in the singular when there is one', () => {
    const visible = text(page);
    expect(visible).toContain('We hold 1 record and 5 files you uploaded about you, in 3 kinds of data');
    expect(visible).toContain('Account information : 1 record');
    expect(visible).toContain('Communication data : 5 files');
    expect(visible).toContain('0 records: we hold nothing of this kind about you.');
    expect(visible).not.toMatch(/\b1 records\b|\b1 files\b/);
    expect(text(pageOf(manifest([...account, ...uploads.slice(0, 1)], 1)))).toContain('1 record and 1 file you uploaded');
  });

  it('shows every renamed file with its original name, and only those', () => {
    const visible = text(page);
    expect(visible).toContain('Its original name: CON.txt');
    expect(visible).toContain('Its original name: NOTES.txt');
    expect(page.match(/Its original name:/g)).toHaveLength(3);
    expect(visible).toContain('Some files were renamed so that every computer can save them');
    expect(text(pageOf(manifest([...account, ...uploads.slice(0, 1)], 1)))).not.toContain('renamed');
  });

  it('shows a right-to-left override in a name instead of obeying it', () => {
    expect(page).not.toContain('\u202e');
    expect(page).toContain('<bdi>rtl⟨U+202E⟩txt.exe</bdi>');
    expect(visibleName('a\u0000b\u200fc\u2066d')).toBe('<bdi>a⟨U+0000⟩b⟨U+200F⟩c⟨U+2066⟩d</bdi>');
    // Joiners inside emoji and scripts stay: they are part of how the name looks, not a trick.
    expect(visibleName('👨\u200d👩\u200d👧.jpg')).toBe('<bdi>👨\u200d👩\u200d👧.jpg</bdi>');
  });

  it('says what a file is in units people know', () => {
    expect(text(page)).toContain('communication/attachments/photo.jpg (2.3 MB)');
    expect(formatBytes(1)).toBe('1 byte');
    expect(formatBytes(2_000)).toBe('2.0 KB');
  });

  it('names the guarded first characters of a CSV cell, the line break included', () => {
    expect(text(page)).toMatch(/begins with = , \+ , - , @ , a tab or a line break starts with an apostrophe/);
  });

  it('tells a split archive to be extracted into one folder, and each file which part holds it', () => {
    const split = pageOf(
      manifest(
        [
          ...account,
          file({ path: 'communication/attachments/big.bin', sourceId: 'attachments', category: 'communication', format: 'file', originalKey: 'big.bin', archivePart: 1 }),
          file({
            path: 'communication/attachments/big.bin.part-2',
            sourceId: 'attachments',
            category: 'communication',
            format: 'file',
            originalKey: 'big.bin',
            archivePart: 2,
            continues: 'communication/attachments/big.bin',
          }),
        ],
        1,
      ),
      3,
    );
    const visible = text(split);
    expect(visible).toContain('Your export came as 3 ZIP files');
    expect(visible).toContain('into the same folder');
    expect(visible).toContain('communication/attachments/big.bin (2.3 KB, in part 1)');
    expect(visible).toContain('saved in 2: this one, in part 1, then big.bin.part-2 , in part 2. Join them in this order');
    // A piece is no file of its own in the counts.
    expect(visible).toContain('in 2 files.');
    // Its second piece's path ends in ".part-2": that is no rename.
    expect(visible).not.toContain('renamed');
  });

  it('puts more than 20 files of a source behind "Show all", every one still linked', () => {
    const many = Array.from({ length: 25 }, (_, i) =>
      file({ path: `communication/attachments/f${i}.txt`, sourceId: 'attachments', category: 'communication', format: 'file', originalKey: `f${i}.txt` }),
    );
    const long = pageOf(manifest([...account, ...many], many.length));
    expect(long).toContain('<summary>Show all 25 files</summary>');
    for (const f of many) expect(long).toContain(`href="${f.path}"`);
  });
});
