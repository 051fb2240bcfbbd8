// Two embedded stacks in one process: each has its own emulators, configuration and inbox, reached
// through the Runtime it composes, and neither writes process.env. The same user id holds different
// data in each, and each stack's export holds its own.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchive } from '../../local/archive-reader.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'two-stacks-'));
const dataMapFile = writeDataMap(dir, [
  { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' },
  { id: 'files', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
]);
const environmentBefore = { ...process.env };
const stacks: EmbeddedStack[] = [];

beforeAll(async () => {
  stacks.push(...(await Promise.all([1, 2].map(() => EmbeddedStack.start({ dataMapFile, retryIntervalMs: 0, cooldownHours: 0 })))));
  await Promise.all(
    stacks.map((stack, i) =>
      stack.loadSeed({
        tables: { Users: [{ userId: { S: 'ana' }, email: { S: 'ana@example.com' }, city: { S: `city of stack ${i}` } }] },
        schemas: {},
        objects: [{ bucket: 'uploads', key: 'users/ana/note.txt', base64: Buffer.from(`note kept by stack ${i}`).toString('base64') }],
      }),
    ),
  );
});

afterAll(async () => {
  await Promise.all(stacks.map((stack) => stack.stop()));
});

describe('two embedded stacks in one process', () => {
  it('run at once, each exporting its own data to its own inbox, without touching process.env', async () => {
    const [first, second] = stacks as [EmbeddedStack, EmbeddedStack];
    expect(first.endpoints.dynamodb).not.toBe(second.endpoints.dynamodb);
    expect(first.endpoints.s3).not.toBe(second.endpoints.s3);
    expect(first.endpoints.ses).not.toBe(second.endpoints.ses);
    const archives = await Promise.all(
      stacks.map(async (stack) => {
        const started = await stack.startExport({ userId: 'ana', formats: ['json'], actor: { id: 'two-stacks-test', role: 'operator' } });
        const { job } = await stack.waitForExport(started.exportId);
        expect(job.status, job.failureReason).toBe('READY');
        const { zip } = await stack.inbox.downloadFromEmail('ana@example.com', job.exportId);
        const path = join(dir, `${job.exportId}.zip`);
        writeFileSync(path, zip);
        return { exportId: job.exportId, entries: await readArchive(path), emails: await stack.inbox.emails() };
      }),
    );
    archives.forEach(({ exportId, entries, emails }, i) => {
      const files = [...entries.entries()];
      const profile = files.find(([name]) => name.endsWith('.json') && name.includes('profile'));
      const note = files.find(([name]) => name.endsWith('note.txt'));
      expect(profile?.[1].toString('utf8')).toContain(`city of stack ${i}`);
      expect(profile?.[1].toString('utf8')).not.toContain(`city of stack ${1 - i}`);
      expect(note?.[1].toString('utf8')).toBe(`note kept by stack ${i}`);
      // Each inbox holds its own stack's one email, about its own export.
      expect(emails).toHaveLength(1);
      expect(emails[0]?.body.text).toContain(exportId);
    });
    expect(process.env).toEqual(environmentBefore);
  });
});
