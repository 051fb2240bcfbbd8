// The support CLI as an agent runs it: a child process with --local against a running embedded stack,
// every command's success path, bad input and permission check, in human and --json output.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, ExportView } from '../../cli/support-client.ts';
import { linkInEmail } from '../../local/embedded-stack.ts';
import { startLocalServer, type LocalServer } from '../../local/local-server.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-'));
const endpointFile = join(dir, 'endpoint.json');
let server: LocalServer;

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/cli.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const local = (...args: string[]) => cli(...args, '--local', '--endpoint-file', endpointFile);
const parsed = <T>(output: { stdout: string }) => JSON.parse(output.stdout) as T;

beforeAll(async () => {
  const dataMapFile = writeDataMap(dir, [{ id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' }]);
  server = await startLocalServer({
    dataMapFile,
    endpointFile,
    seed: {
      tables: { Users: ['olga', 'pia', 'quinn', 'rosa', 'sven'].map((u) => ({ userId: { S: u }, email: { S: `${u}@example.com` } })) },
      schemas: {},
      objects: [],
    },
  });
});

afterAll(async () => {
  await server?.stop();
});

describe('user-data-export CLI', () => {
  it('starts, waits with per-source progress, shows status and lists, in human and JSON form', async () => {
    const started = await local('start', '--user', 'olga', '--reason', 'TICKET-501', '--format', 'csv', '--json');
    expect(started.code, started.stderr).toBe(0);
    const job = parsed<ExportView>(started);
    expect(job).toMatchObject({ userId: 'olga', formats: ['csv'] });

    const waited = await local('wait', job.exportId, '--interval', '0.2');
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stdout).toMatch(new RegExp(`Export ${job.exportId}  user olga  READY`));
    expect(waited.stdout).toMatch(/\[█{24}\] 1\/1 sources, 1 record/);
    expect(waited.stdout).toMatch(/ {2}profile {16}\[█{10}\] ✓ 1 record/);

    const status = await local('status', job.exportId, '--json');
    expect(parsed<ExportView>(status)).toMatchObject({ exportId: job.exportId, status: 'READY', progress: { sourcesDone: 1, sourcesTotal: 1 } });
    const human = await local('status', job.exportId);
    expect(human.stdout).toMatch(/Archive \d+(\.\d)? KB, link valid until .+, downloaded 0 times/);

    const listed = await local('list', '--user', 'olga', '--json');
    expect(parsed<ExportView[]>(listed).map((j) => j.exportId)).toEqual([job.exportId]);
    const table = await local('list', '--user', 'olga');
    expect(table.stdout.split('\n')[0]).toMatch(/^EXPORT +STATUS +CREATED +SIZE +RECORDS$/);
    expect(table.stdout).toContain(`${job.exportId}  READY`);
  });

  it('resends a link (the old one stops working) and shows it all in the audit trail', async () => {
    const job = parsed<ExportView>(await local('start', '--user', 'pia', '--reason', 'TICKET-502', '--json'));
    expect((await local('wait', job.exportId, '--json', '--interval', '0.2')).code).toBe(0);
    const oldLink = linkInEmail((await server.stack.inbox.emailFor('pia@example.com', job.exportId))!)!;
    const resent = await local('resend', job.exportId, '--reason', 'customer asked again');
    expect(resent.code, resent.stderr).toBe(0);
    expect(resent.stdout).toMatch(new RegExp(`^Sent a new link for export ${job.exportId}; it works until .+\\. The previous link no longer works\\.`));
    expect((await fetch(oldLink, { redirect: 'manual' })).status).toBe(410);

    const audit = parsed<AuditEvent[]>(await local('audit', '--user', 'pia', '--json'));
    expect(audit.map((e) => [e.action, e.actor.role, e.actor.reason])).toEqual([
      ['start', 'support', 'TICKET-502'],
      ['ready', 'operator', undefined],
      ['resend', 'support', 'customer asked again'],
    ]);
    const log = await local('audit', '--user', 'pia');
    expect(log.stdout).toMatch(/start +\S+ {2}by support arn:aws:iam::000000000000:user\/local-support-agent — "TICKET-502"/);
    // One page at a time: --limit, then the cursor it prints.
    const first = parsed<{ events: AuditEvent[]; nextCursor?: string }>(await local('audit', '--user', 'pia', '--limit', '2', '--json'));
    expect(first.events.map((e) => e.action)).toEqual(['start', 'ready']);
    const rest = parsed<{ events: AuditEvent[]; nextCursor?: string }>(await local('audit', '--user', 'pia', '--limit', '2', '--cursor', first.nextCursor ?? '', '--json'));
    expect(rest.events.map((e) => e.action)).toEqual(['resend']);
    const page = await local('audit', '--user', 'pia', '--limit', '2');
    expect(page.stdout).toContain(`More: user-data-export audit --user pia --limit 2 --cursor ${first.nextCursor ?? ''}`);
  });

  it('follows a queued export (waiting, n ahead) and cancels it before it starts', async () => {
    // Every slot is held (by exports whose endings are never reported), so new exports wait.
    const cap = Number(server.stack.functionRuntime('SupportApi').env.MAX_CONCURRENT_EXPORTS);
    const ghosts = Array.from({ length: cap }, () => crypto.randomUUID());
    for (const ghost of ghosts) await server.stack.jobs.admission.acquire(ghost, cap);
    try {
      const first = await local('start', '--user', 'rosa', '--reason', 'TICKET-503');
      expect(first.stdout).toMatch(/^Started export \S+ for user rosa \(QUEUED \(waiting, 0 ahead\)\)\./);
      const second = parsed<ExportView>(await local('start', '--user', 'sven', '--reason', 'TICKET-504', '--json'));
      expect(second).toMatchObject({ status: 'QUEUED', queue: { ahead: 1 } });
      const status = await local('status', second.exportId);
      expect(status.stdout).toContain(`Export ${second.exportId}  user sven  QUEUED (waiting, 1 ahead)`);
      const listed = await local('list', '--user', 'sven');
      expect(listed.stdout).toContain(`${second.exportId}  QUEUED (waiting, 1 ahead)`);
      const cancelled = await local('cancel', second.exportId, '--reason', 'customer withdrew', '--json');
      expect(cancelled.code, cancelled.stderr).toBe(0);
      expect(parsed<ExportView>(cancelled)).toMatchObject({ status: 'CANCELLED', queue: null });
      const rosa = parsed<ExportView[]>(await local('list', '--user', 'rosa', '--json'))[0]!;
      expect(rosa.queue).toEqual({ ahead: 0 });
      expect((await local('cancel', rosa.exportId, '--reason', 'customer withdrew')).code).toBe(0);
    } finally {
      for (const ghost of ghosts) await server.stack.jobs.admission.release(ghost);
    }
  });

  it('cancels only what still runs, and says why not otherwise', async () => {
    const finished = parsed<ExportView[]>(await local('list', '--user', 'olga', '--json'))[0]!;
    const refused = await local('cancel', finished.exportId);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(`Export ${finished.exportId} has already ended (READY); there is nothing to cancel.`);
    const json = await local('cancel', finished.exportId, '--json');
    expect(parsed<{ error: string; status: number }>(json)).toEqual({ error: `Export ${finished.exportId} has already ended (READY); there is nothing to cancel.`, status: 409 });
  });

  it('explains bad input: missing flags, unknown users and commands, no local stack', async () => {
    const noReason = await local('start', '--user', 'quinn');
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/^--reason is required\.\n\nUsage: user-data-export/);
    const unknown = await local('start', '--user', 'zed', '--reason', 'TICKET-9');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('There is no account with user id "zed"; check the id in the support ticket.');
    const noId = await local('status');
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain('The export id is required.');
    const badCommand = await local('explode');
    expect(badCommand.code).toBe(2);
    expect(badCommand.stderr).toContain('Unknown command "explode".');
    const missing = await cli('list', '--user', 'quinn', '--local', '--endpoint-file', join(dir, 'none.json'));
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(`No local stack is running (${join(dir, 'none.json')} is missing). Start one with: npm run local`);
    expect(`${noReason.stderr}${unknown.stderr}${missing.stderr}`).not.toMatch(/\n\s+at /);
  });

  it('is refused (403) when its credentials are not the support identity', async () => {
    const endpoint = JSON.parse(readFileSync(endpointFile, 'utf8')) as Record<string, string>;
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ ...endpoint, secretAccessKey: 'not-the-secret' }));
    const refused = await cli('list', '--user', 'olga', '--local', '--endpoint-file', wrong);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe('Forbidden: the signature does not match the request.');
  });
});
