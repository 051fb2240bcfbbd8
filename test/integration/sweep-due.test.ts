// What the ExportsNearDue metric counts, on the embedded stack with a clock the test moves: each sweep
// publishes the number of requests not answered within dueAlarmHours of their dueBy. An export still
// running or one that failed counts; a READY one, a cancelled one and one whose window has not opened do
// not; a sweep before any window opens publishes zero; and sweeping twice counts the same.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SupportClient } from '../../cli/support-client.ts';
import { SourceUnavailableError } from '../../lambdas/core/platform/errors.ts';
import { EmbeddedStack, LOCAL_REGION } from '../../local/embedded-stack.ts';
import { DAY_MS, TestClock } from '../support/clock.ts';
import { writeDataMap } from '../support/data-map-file.ts';
import { aroundCollectSource } from '../support/faults.ts';

const dir = mkdtempSync(join(tmpdir(), 'sweep-due-'));
const dataMapFile = writeDataMap(dir, [{ id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' }]);
const USERS = ['running', 'failing', 'answered', 'withdrawn', 'late'];
/** Four days to answer, counted from 72 hours before: a request counts from a day after it arrived. */
const RESPONSE_DAYS = 4;
const DUE_ALARM_HOURS = 72;
const HOUR_MS = 3_600_000;
const clock = new TestClock();

let release: () => void = () => undefined;
const released = new Promise<void>((resolve) => (release = resolve));
/** Users whose collector waits until the end: their exports stay RUNNING while the test sweeps. */
const HELD = new Set(['running', 'withdrawn', 'late']);

let stack: EmbeddedStack;

beforeAll(async () => {
  stack = await EmbeddedStack.start({
    dataMapFile,
    retryIntervalMs: 0,
    responseDays: RESPONSE_DAYS,
    dueAlarmHours: DUE_ALARM_HOURS,
    // Ten days: no export here outlives it, so the sweep closes none and each keeps its own status.
    timeoutSeconds: 10 * 86_400,
    clock: clock.now,
    wrapTask: aroundCollectSource(async ({ userId, sourceId }, collect) => {
      if (HELD.has(userId)) await released;
      if (userId === 'failing') throw new SourceUnavailableError(sourceId, 'The users table is gone (injected).');
      return collect();
    }),
  });
  await stack.loadSeed({ tables: { Users: USERS.map((u) => ({ userId: { S: u }, email: { S: `${u}@example.com` } })) }, schemas: {}, objects: [] });
});

afterAll(async () => {
  release();
  await stack?.stop();
});

const start = (userId: string) => stack.startExport({ userId, formats: ['json'], actor: { id: 'sweep-due-test', role: 'operator' } });
const published = () =>
  stack.metrics.filter((m) => m.name === 'ExportsNearDue').map((m) => ({ functionName: m.functionName, value: m.value, dimensions: m.dimensions, unit: m.unit }));
const statusOf = async (exportId: string) => (await stack.jobs.get(exportId))?.status;

it('counts exactly the unanswered requests whose due window has opened, FAILED included, READY and CANCELLED not', async () => {
  const running = await start('running');
  const failing = await start('failing');
  const answered = await start('answered');
  const withdrawn = await start('withdrawn');
  expect((await stack.waitForExport(failing.exportId)).job.status).toBe('FAILED');
  expect((await stack.waitForExport(answered.exportId)).job.status).toBe('READY');
  await expect.poll(() => statusOf(withdrawn.exportId)).toBe('RUNNING');
  const support = new SupportClient({ apiUrl: stack.baseUrl, region: LOCAL_REGION, credentials: stack.identity.supportCredentials });
  expect((await support.cancel(withdrawn.exportId, 'the customer withdrew the request')).status).toBe('CANCELLED');
  await expect.poll(() => statusOf(running.exportId)).toBe('RUNNING');

  // No window has opened yet: a sweep publishes zero, which is a datapoint (the absence alarm reads none as no sweep).
  expect((await stack.sweep()).nearDue).toEqual([]);
  expect(published()).toEqual([{ functionName: 'SweepExports', value: 0, unit: 'Count', dimensions: { service: 'user-data-export' } }]);

  clock.advance(12 * HOUR_MS);
  const late = await start('late');
  await expect.poll(() => statusOf(late.exportId)).toBe('RUNNING');
  // A day and an hour after the first four arrived: their windows are open, late's opens in eleven hours.
  clock.advance(13 * HOUR_MS);
  const swept = await stack.sweep();
  expect(swept.nearDue.sort()).toEqual([running.exportId, failing.exportId].sort());
  expect(published().at(-1)?.value).toBe(2);

  // Twice is the same: nothing changed, nothing was closed.
  const again = await stack.sweep();
  expect(again.nearDue.sort()).toEqual(swept.nearDue.sort());
  expect(again.failed).toEqual([]);
  expect(published().at(-1)?.value).toBe(2);

  // Past the window's start for late, and past every dueBy: late counts too; the READY one never does.
  clock.advance(RESPONSE_DAYS * DAY_MS);
  expect((await stack.sweep()).nearDue.sort()).toEqual([running.exportId, failing.exportId, late.exportId].sort());
  expect(published().at(-1)?.value).toBe(3);
});
