// A split archive end to end on the embedded stack: with MAX_ARCHIVE_BYTES set, the workflow writes
// numbered parts, the email links every part, each link downloads its own complete ZIP, and a part
// that does not exist gets a page with a sentence. BundleArchive's time budget is a millisecond, so
// every call stops after a block and the state machine loops it: parts are cut by time and by size.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../lambdas/core/jobs/job-store.ts';
import type { Manifest } from '../../lambdas/core/archive/manifest.ts';
import { readArchive } from '../../local/archive-reader.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'split-download-'));
const dataMapFile = writeDataMap(
  dir,
  [
    { id: 'usage-events', category: 'usage', type: 'dynamodb', table: 'UsageEvents', partitionKey: 'userId', sortKey: 'eventId', keyTemplate: '{userId}' },
    { id: 'uploads', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
  ],
  'data-map.json',
);
const LIMIT = 64 * 1024;
const scan = randomBytes(150 * 1024);

let stack: EmbeddedStack;
let job: Job;
let partLinks: string[];

beforeAll(async () => {
  stack = await EmbeddedStack.start({ dataMapFile, maxArchiveBytes: LIMIT, bundleBudgetSeconds: 0.001 });
  await stack.loadSeed({
    tables: {
      UsageEvents: Array.from({ length: 1500 }, (_, i) => ({
        userId: { S: 'u-heavy' },
        eventId: { S: `evt-${String(i).padStart(5, '0')}` },
        detail: { S: randomBytes(40).toString('base64') },
      })),
    },
    schemas: {},
    objects: [{ bucket: 'uploads', key: 'users/u-heavy/scan.pdf', base64: scan.toString('base64') }],
  });
  const started = await stack.startExport({ userId: 'u-heavy', formats: ['json', 'csv'], email: 'heavy@example.com', actor: { id: 'u-heavy', role: 'user' } });
  ({ job } = await stack.waitForExport(started.exportId));
  const email = await stack.inbox.emailFor('heavy@example.com', job.exportId);
  partLinks = [...(email?.body.text ?? '').matchAll(/Part (\d+) of (\d+): (\S+)/g)].map((m) => m[3] ?? '');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function download(link: string): Promise<{ status: number; zip?: Buffer; page?: string }> {
  const answer = await fetch(link, { redirect: 'manual' });
  const location = answer.headers.get('location');
  if (answer.status !== 302 || !location) return { status: answer.status, page: await answer.text() };
  return { status: 302, zip: Buffer.from(await (await fetch(location)).arrayBuffer()) };
}

describe('a split archive, end to end', () => {
  it('is READY with several parts, and its email links each one', () => {
    expect(job.status).toBe('READY');
    expect(job.archiveParts).toBeGreaterThan(1);
    expect(partLinks).toHaveLength(job.archiveParts ?? 0);
    expect(partLinks.slice(1).every((link, i) => link.endsWith(`&part=${i + 2}`))).toBe(true);
    // Calls that ran out of time saved where they stood for the next.
    const saves = stack.permissions.decisions.filter(
      (d) => d.functionName === 'BundleArchive' && d.action === 's3:PutObject' && d.resource.includes(`${job.exportId}/archive-progress/`),
    );
    expect(saves.length).toBeGreaterThan(1);
  });

  it('downloads every part as a complete ZIP under the limit, the manifest in the last one finding every file', async () => {
    const parts: Map<string, Buffer>[] = [];
    for (const [i, link] of partLinks.entries()) {
      const { status, zip } = await download(link);
      expect(status).toBe(302);
      expect(zip?.length).toBeLessThanOrEqual(LIMIT);
      const path = join(dir, `part-${i + 1}.zip`);
      writeFileSync(path, zip ?? Buffer.alloc(0));
      parts.push(await readArchive(path));
    }
    const manifest = JSON.parse(parts.at(-1)?.get('manifest.json')?.toString() ?? '{}') as Manifest;
    for (const file of manifest.files) expect(parts[file.archivePart - 1]?.get(file.path)?.length, file.path).toBe(file.bytes);
    const events = manifest.files.filter((f) => f.format === 'json').flatMap((f) => JSON.parse(parts[f.archivePart - 1]?.get(f.path)?.toString() ?? '[]') as unknown[]);
    expect(events).toHaveLength(1500);
    const pieces = manifest.files.filter((f) => f.originalKey === 'scan.pdf');
    expect(Buffer.concat(pieces.map((f) => parts[f.archivePart - 1]?.get(f.path) ?? Buffer.alloc(0))).equals(scan)).toBe(true);
  });

  it('answers a part that does not exist with a page that says how many there are', async () => {
    for (const part of [String((job.archiveParts ?? 0) + 1), '0', 'abc']) {
      const { status, page } = await download(`${partLinks[0]}&part=${part}`);
      expect(status).toBe(404);
      expect(page).toContain(`has ${job.archiveParts} parts`);
    }
  });
});
