// ExecutionEnded as EventBridge invokes it in AWS: with the "Step Functions Execution Status Change"
// events Step Functions documents for FAILED, TIMED_OUT and ABORTED (input included, or left out when
// too large), against the real jobs table, bucket and mail stand-ins, under its own role's IAM. It closes
// only jobs still QUEUED or RUNNING, so an export MarkFailed already closed is not closed twice.
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutionEndedHandler } from '../../lambdas/execution-ended.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import { LOCAL_STATE_MACHINE_ARN } from '../../local/iam/local-resources.ts';
import { lambdaContext } from '../../local/local-workflow.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'ended-'));
const dataMapFile = writeDataMap(dir, [{ id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' }]);

let stack: EmbeddedStack;
let handler: (event: unknown, context: Context) => Promise<unknown>;

beforeAll(async () => {
  stack = await EmbeddedStack.start({ dataMapFile });
  handler = createExecutionEndedHandler(stack.functionRuntime('ExecutionEnded'), stack.workflowAs('ExecutionEnded')) as typeof handler;
});

afterAll(async () => {
  await stack?.stop();
});

/** The event as documented: detail carries the execution's ARN, name, status, dates, input, error and cause. */
function statusChange(exportId: string, status: string, options: { input?: object | null; error?: string; cause?: string } = {}) {
  const executionArn = `${LOCAL_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${exportId}`;
  const input = options.input === null ? null : JSON.stringify(options.input ?? {});
  return {
    version: '0',
    id: '315c1398-40ff-a850-213b-158f73e60175',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '000000000000',
    time: '2026-12-01T10:42:21Z',
    region: 'us-east-1',
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn: LOCAL_STATE_MACHINE_ARN,
      name: exportId,
      status,
      startDate: 1764585600000,
      stopDate: 1764585741000,
      input,
      output: null,
      inputDetails: { included: input !== null },
      outputDetails: null,
      error: options.error ?? null,
      cause: options.cause ?? null,
    },
  };
}

async function jobIn(userId: string, status: 'QUEUED' | 'RUNNING' | 'FAILED' | 'CANCELLED') {
  const exportId = crypto.randomUUID();
  await stack.jobs.create({
    exportId,
    userId,
    requestedBy: { id: userId, role: 'user' },
    formats: ['json'],
    notifyEmail: `${userId}@example.com`,
    receivedAt: new Date().toISOString(),
    dueBy: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    ttl: Math.floor(Date.now() / 1000) + 86_400,
  });
  if (status !== 'QUEUED') await stack.jobs.update(exportId, { status, ...(status === 'FAILED' ? { failureReason: 'SourceReadError: earlier' } : {}) });
  await stack.s3.send(new PutObjectCommand({ Bucket: stack.exportBucket, Key: `staging/${exportId}/profile/part-00000.ndjson`, Body: '{}\n' }));
  // A part of the archive that an earlier BundleArchive call finished before its time budget ran out.
  await stack.s3.send(new PutObjectCommand({ Bucket: stack.exportBucket, Key: `archives/${exportId}/user-data-export-${exportId}.zip`, Body: 'PK' }));
  return exportId;
}

const mailsTo = async (address: string) => (await stack.inbox.emails()).filter((e) => e.destination.to.includes(address));
const run = (event: object) => handler(event, lambdaContext('ExecutionEnded', 30));

describe('ExecutionEnded', () => {
  it.each([
    ['FAILED', { error: 'States.Runtime', cause: "An error occurred while executing the state 'CollectSources'" }, 'States.Failed'],
    ['TIMED_OUT', {}, 'States.Timeout'],
    ['ABORTED', {}, 'States.Aborted'],
  ] as const)('closes a RUNNING job on %s: FAILED with the reason, staging removed, lock freed, user told once', async (status, details, reason) => {
    const userId = `running-${status.toLowerCase()}`;
    const exportId = await jobIn(userId, 'RUNNING');
    expect(await run(statusChange(exportId, status, { input: { exportId, userId }, ...details }))).toMatchObject({ exportId, status: 'FAILED', userNotified: true });
    const job = await stack.jobs.get(exportId);
    expect(job?.status).toBe('FAILED');
    expect(job?.failureReason).toContain(reason);
    expect(await stack.jobs.activeExportId(userId)).toBeUndefined();
    expect(await listStaging(exportId)).toBe(0);
    expect(await listArchive(exportId)).toBe(0);
    expect(await mailsTo(`${userId}@example.com`)).toHaveLength(1);
  });

  it('leaves an export MarkFailed already closed as it is: no second failure, email or audit event', async () => {
    const exportId = await jobIn('closed', 'FAILED');
    expect(await run(statusChange(exportId, 'FAILED', { input: { exportId, userId: 'closed' }, error: 'ExportFailed' }))).toMatchObject({
      status: 'UNCHANGED',
      userNotified: false,
    });
    expect((await stack.jobs.get(exportId))?.failureReason).toBe('SourceReadError: earlier');
    expect(await mailsTo('closed@example.com')).toHaveLength(0);
    expect((await stack.jobs.auditTrail('closed')).filter((e) => e.action === 'fail')).toHaveLength(0);
    expect(await listStaging(exportId)).toBe(0);
  });

  it('keeps an archive that was built, whose delivery failed, for a resend', async () => {
    const exportId = await jobIn('built', 'FAILED');
    await stack.jobs.update(exportId, { archiveKey: `archives/${exportId}/user-data-export-${exportId}.zip`, archiveParts: 1 });
    await run(statusChange(exportId, 'FAILED', { input: { exportId, userId: 'built' }, error: 'ExportFailed' }));
    expect(await listArchive(exportId)).toBe(1);
    expect(await listStaging(exportId)).toBe(0);
  });

  it('keeps a cancelled export CANCELLED when its stopped execution reports ABORTED', async () => {
    const exportId = await jobIn('cancelled', 'CANCELLED');
    expect(await run(statusChange(exportId, 'ABORTED', { input: { exportId, userId: 'cancelled' } }))).toMatchObject({ status: 'UNCHANGED' });
    expect((await stack.jobs.get(exportId))?.status).toBe('CANCELLED');
    expect(await stack.jobs.activeExportId('cancelled')).toBeUndefined();
    expect(await listArchive(exportId)).toBe(0);
  });

  it('finds the user from the job row when the event leaves the input out (too large to include)', async () => {
    const exportId = await jobIn('no-input', 'QUEUED');
    expect(await run(statusChange(exportId, 'TIMED_OUT', { input: null }))).toMatchObject({ exportId, status: 'FAILED' });
    expect((await stack.jobs.get(exportId))?.status).toBe('FAILED');
  });

  it('leaves the job of a SUCCEEDED execution as SendLink left it, frees its slot, and ignores a change that is no ending', async () => {
    const exportId = await jobIn('succeeded', 'RUNNING');
    expect(await stack.jobs.admission.acquire(exportId, 50)).toBe(true);
    expect(await stack.jobs.admission.holders()).toContain(exportId);
    expect(await run(statusChange(exportId, 'SUCCEEDED', { input: { exportId, userId: 'succeeded' } }))).toMatchObject({ status: 'UNCHANGED' });
    expect((await stack.jobs.get(exportId))?.status).toBe('RUNNING');
    expect(await stack.jobs.admission.holders()).not.toContain(exportId);
    expect(await run(statusChange(exportId, 'RUNNING', { input: { exportId, userId: 'succeeded' } }))).toMatchObject({ status: 'IGNORED' });
  });

  it('frees the slot of an execution it knows nothing of', async () => {
    const exportId = crypto.randomUUID();
    expect(await stack.jobs.admission.acquire(exportId, 50)).toBe(true);
    expect(await run(statusChange(exportId, 'FAILED', { input: null }))).toMatchObject({ status: 'UNKNOWN' });
    expect(await stack.jobs.admission.holders()).not.toContain(exportId);
  });
});

async function listStaging(exportId: string): Promise<number> {
  const page = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.exportBucket, Prefix: `staging/${exportId}/` }));
  return page.KeyCount ?? 0;
}

async function listArchive(exportId: string): Promise<number> {
  const page = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.exportBucket, Prefix: `archives/${exportId}/` }));
  return page.KeyCount ?? 0;
}
