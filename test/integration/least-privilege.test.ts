// Every function's role holds only what its code calls, and everything its code calls: the embedded
// stack refuses whatever the synthesized template does not grant, and this test drives each function
// down every path that needs a grant (start, follow, resend, download, cancel by user and support, an
// operator's stop, a failed source, a split archive that fails half-way), then compares what each
// function was allowed to do with what its role grants. A grant no path used is an unused grant.
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupportClient } from '../../cli/support-client.ts';
import { newExportId } from '../../lambdas/core/data-map/identifiers.ts';
import { SourceUnavailableError } from '../../lambdas/core/platform/errors.ts';
import type { SdkClient } from '../../lambdas/core/runtime.ts';
import { buildDemoSeed } from '../../local/demo-seed.ts';
import { EmbeddedStack, LOCAL_REGION } from '../../local/embedded-stack.ts';
import { STATE_MACHINE, SWEEP_SCHEDULE } from '../../local/iam/policy-enforcer.ts';
import { DAY_MS, TestClock } from '../support/clock.ts';
import { aroundCollectSource } from '../support/faults.ts';

/**
 * Grants that no path of a healthy local run can reach, and where each is shown to be needed instead.
 * The multipart writer aborts an upload whose part failed; the emulator cannot fail a part by itself.
 */
const REACHED_ELSEWHERE: Record<string, string> = {
  'BundleArchive s3:AbortMultipartUpload arn:aws:s3:::user-data-exports-local/archives/*':
    'test/reliability/faults.test.ts: "S3 failing in the middle of the multipart upload" asserts the abort',
  'ExecutionEnded s3:DeleteObject arn:aws:s3:::user-data-exports-local/archives/*':
    'test/integration/execution-ended.test.ts: an execution that ended between BundleArchive calls has the parts they finished removed',
  'CollectSource s3:GetObject arn:aws:s3:::user-data-exports-local/staging/*':
    'test/scale/large-objects.test.ts "goes on with a copy that its time budget cut": the ETags of a copy under way, read back (the emulator has no UploadPartCopy)',
  'CollectDatabaseSource s3:AbortMultipartUpload arn:aws:s3:::user-data-exports-local/staging/*':
    'test/scale/multipart-upload.test.ts "aborts the upload when a part fails": the database collector stages its parts with the same StagingWriter',
  'CollectSource s3:AbortMultipartUpload arn:aws:s3:::user-data-exports-local/staging/*':
    'test/scale/multipart-upload.test.ts "aborts the upload when a part fails", and lambdas/core/collect/collect-source.ts copyInParts: a large object\'s copy that fails',
};
/**
 * The Lambda platform's own calls (log delivery, X-Ray, and the network interfaces it makes for a
 * function in a VPC with the function's role), not the code's.
 */
const PLATFORM =
  /^(logs|xray):|^ec2:(CreateNetworkInterface|DescribeNetworkInterfaces|DescribeSubnets|DeleteNetworkInterface|AssignPrivateIpAddresses|UnassignPrivateIpAddresses)$/;

const keyOf = (command: { input: Record<string, unknown> }) => (typeof command.input.Key === 'string' ? command.input.Key : '');

type Command = { constructor: { name: string }; input: Record<string, unknown> };
type Send = (command: Command, ...rest: unknown[]) => Promise<unknown>;
/** Runs `around` for every command the client sends, with the real send to call (or not). */
function aroundSend(client: object, around: (command: Command, send: () => Promise<unknown>) => Promise<unknown>): void {
  const target = client as { send: Send };
  const send = target.send.bind(target);
  target.send = (command, ...rest) => around(command, () => send(command, ...rest));
}

/** Exports whose "account" staging writes wait for a release; `staged` resolves once another source has staged. */
const held = new Map<string, { release: () => void; released: Promise<void>; staged: Promise<void>; markStaged: () => void }>();
function hold(exportId: string) {
  let release = () => undefined as void;
  let markStaged = () => undefined as void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const staged = new Promise<void>((resolve) => (markStaged = resolve));
  const gate = { release, released, staged, markStaged };
  held.set(exportId, gate);
  return gate;
}
/** BundleArchive calls of these exports get a minute and a moment left: each stops after its first block. */
const cutEveryBlock = new Set<string>();
/** Split archives of these exports fail at their second part. */
const failSecondPart = new Set<string>();
/** Users whose "devices" source fails after staging its part. */
const failDevicesOf = new Set<string>();

function wrapClient(client: SdkClient, functionName: string): void {
  if (!(client instanceof S3Client)) return;
  if (functionName === 'CollectSource') {
    aroundSend(client, async (command, send) => {
      const [, exportId, sourceId] = keyOf(command).split('/');
      const gate = held.get(exportId ?? '');
      if (!gate || command.constructor.name !== 'PutObjectCommand') return send();
      if (sourceId === 'account') await gate.released;
      const result = await send();
      // Another source's part is in the bucket (not merely on its way) once its put has answered.
      if (sourceId !== 'account') gate.markStaged();
      return result;
    });
  }
  if (functionName === 'BundleArchive') {
    aroundSend(client, (command, send) => {
      const [, exportId] = keyOf(command).split('/');
      if (failSecondPart.has(exportId ?? '') && keyOf(command).endsWith('-part-2.zip')) {
        return Promise.reject(Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError' }));
      }
      return send();
    });
  }
}

let stack: EmbeddedStack;
let support: SupportClient;
/** Still, until the sweep's test lets the days pass that retention and the workflow's timeout take. */
const clock = new TestClock();

beforeAll(async () => {
  stack = await EmbeddedStack.start({
    dataMapFile: 'config/data-map.json',
    retryIntervalMs: 0,
    cooldownHours: 0,
    // Small enough that the demo user's archive is split (every part's grants are used), large enough for the files written whole.
    maxArchiveBytes: 192 * 1024,
    clock: clock.now,
    wrapClient,
    wrapTask: (task, handler) => {
      if (task === 'BundleArchive') {
        return (event, context) =>
          cutEveryBlock.has((event as { exportId: string }).exportId) ? handler(event, { ...context, getRemainingTimeInMillis: () => 60_001 }) : handler(event, context);
      }
      return aroundCollectSource(async ({ userId, sourceId }, collect) => {
        const result = await collect();
        if (sourceId === 'devices' && failDevicesOf.delete(userId)) throw new SourceUnavailableError(sourceId, 'The device sessions table is gone (injected).');
        return result;
      })(task, handler);
    },
  });
  await stack.loadSeed(buildDemoSeed());
  support = new SupportClient({ apiUrl: stack.baseUrl, region: LOCAL_REGION, credentials: stack.identity.supportCredentials });
}, 120_000);

afterAll(async () => {
  for (const gate of held.values()) gate.release();
  await stack?.stop();
});

async function call(method: string, path: string, token: string, body?: object) {
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as { exportId: string; status: string } };
}

/** Glob (IAM's *) to a regular expression. */
const matches = (pattern: string, resource: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(resource);

describe('least privilege, proved by use', () => {
  it('a user starts, follows, resends and downloads; attachments are copied without their tags', async () => {
    const token = await stack.signIn('u-1001');
    const started = await call('POST', '/exports', token, { format: 'both' });
    expect(started.status).toBe(202);
    const { job } = await stack.waitForExport(started.body.exportId);
    expect(job.status, job.failureReason).toBe('READY');
    expect((await call('GET', '/exports', token)).status).toBe(200);
    expect((await call('GET', `/exports/${job.exportId}`, token)).status).toBe(200);
    expect((await call('POST', `/exports/${job.exportId}/resend`, token)).status).toBe(200);
    const { zip } = await stack.inbox.downloadFromEmail('ana.ruiz@example.com', job.exportId);
    expect(zip.length).toBeGreaterThan(1000);
    const copies = stack.permissions.decisions.filter((d) => d.functionName === 'CollectSource' && d.resource.includes(':::marketplace-uploads/'));
    expect(copies.length).toBeGreaterThan(0);
    expect(stack.permissions.decisions.filter((d) => /Tagging$/.test(d.action))).toEqual([]);
  });

  it('a user cancels a running export while a collector is still writing; ExecutionEnded and the collector remove what they find', async () => {
    const token = await stack.signIn('u-1002');
    const started = await call('POST', '/exports', token, { format: 'json' });
    const gate = hold(started.body.exportId);
    await gate.staged;
    expect((await call('DELETE', `/exports/${started.body.exportId}`, token)).body.status).toBe('CANCELLED');
    gate.release();
    const { job } = await stack.waitForExport(started.body.exportId);
    expect(job.status).toBe('CANCELLED');
  });

  it('support starts for a customer, cancels, starts again, resends, lists and reads the audit trail', async () => {
    const first = await support.start({ userId: 'u-1003', reason: 'TICKET-1', format: 'json' });
    const gate = hold(first.exportId);
    await gate.staged;
    expect((await support.cancel(first.exportId, 'TICKET-1: customer asked')).status).toBe('CANCELLED');
    gate.release();
    await stack.waitForExport(first.exportId);
    const second = await support.start({ userId: 'u-1003', reason: 'TICKET-2', format: 'json' });
    expect((await stack.waitForExport(second.exportId)).job.status).toBe('READY');
    expect((await support.resend(second.exportId, 'TICKET-2: lost the email')).status).toBe('READY');
    expect((await support.list('u-1003')).map((e) => e.exportId)).toEqual(expect.arrayContaining([first.exportId, second.exportId]));
    expect((await support.audit('u-1003')).length).toBeGreaterThan(3);
  });

  it('an execution stopped outside the API is closed by ExecutionEnded; a failed source by MarkFailed', async () => {
    const stopped = await stack.startExport({ userId: 'u-10010', formats: ['json'], actor: { id: 'operator', role: 'operator' } });
    const gate = hold(stopped.exportId);
    await gate.staged;
    await stack.workflow.stop(stopped.exportId);
    gate.release();
    const ended = await stack.waitForExport(stopped.exportId);
    expect(ended.outcome.status).toBe('ABORTED');
    expect(ended.job.status).toBe('FAILED');
    expect(ended.job.failureReason).toContain('States.Aborted');

    failDevicesOf.add('u-10010');
    const failing = await stack.startExport({ userId: 'u-10010', formats: ['json'], actor: { id: 'operator', role: 'operator' } });
    const failed = await stack.waitForExport(failing.exportId);
    expect(failed.job.status).toBe('FAILED');
    expect(failed.job.failureReason).toContain('SourceUnavailableError');
  });

  it('a split archive failing at its second part removes the first', async () => {
    const started = await stack.startExport({ userId: 'u-heavy', formats: ['json', 'csv'], actor: { id: 'operator', role: 'operator' } });
    failSecondPart.add(started.exportId);
    const { job } = await stack.waitForExport(started.exportId);
    expect(job.status).toBe('FAILED');
    expect(job.failureReason).toContain('ArchiveWriteError');
    const firstPart = `archives/${job.exportId}/user-data-export-${job.exportId}.zip`;
    const removed = stack.permissions.decisions.filter((d) => d.functionName === 'BundleArchive' && d.action === 's3:DeleteObject' && d.resource.endsWith(firstPart));
    expect(removed.map((d) => d.allowed)).toContain(true);
    await expect(stack.s3.send(new GetObjectCommand({ Bucket: stack.exportBucket, Key: firstPart }))).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('an archive its time budget cut, failing in a later call, leaves none of its parts behind', async () => {
    const started = await stack.startExport({ userId: 'u-heavy', formats: ['json'], actor: { id: 'operator', role: 'operator' } });
    cutEveryBlock.add(started.exportId);
    failSecondPart.add(started.exportId);
    const { job } = await stack.waitForExport(started.exportId);
    expect(job.status).toBe('FAILED');
    const byFunction = (functionName: string, action: string) =>
      stack.permissions.decisions.filter((d) => d.allowed && d.functionName === functionName && d.action === action && d.resource.includes(job.exportId));
    // The first call finished part 1 and saved where it stood; MarkFailed removed that part.
    expect(byFunction('BundleArchive', 's3:PutObject').some((d) => d.resource.includes('/archive-progress/'))).toBe(true);
    expect(byFunction('MarkFailed', 's3:DeleteObject').some((d) => d.resource.endsWith(`user-data-export-${job.exportId}.zip`))).toBe(true);
    const left = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.exportBucket, Prefix: `archives/${job.exportId}/` }));
    expect(left.KeyCount ?? 0).toBe(0);
  });

  it('the daily sweep expires READY exports past retention, closes one that outlived the timeout, settles failed requests answered since', async () => {
    // An export whose execution ended without ExecutionEnded closing it: its row and lock, a staged part and a finished archive part.
    const exportId = newExportId();
    const now = clock.now();
    await stack.jobs.create({
      exportId,
      userId: 'u-swept',
      requestedBy: { id: 'operator', role: 'operator' },
      formats: ['json'],
      notifyEmail: 'swept@example.com',
      receivedAt: now.toISOString(),
      dueBy: new Date(now.getTime() + 30 * DAY_MS).toISOString(),
      ttl: Math.floor(now.getTime() / 1000) + 60 * 86_400,
    });
    for (const key of [`staging/${exportId}/account/part-00000.ndjson`, `archives/${exportId}/user-data-export-${exportId}.zip`]) {
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.exportBucket, Key: key, Body: 'x' }));
    }
    clock.advance(8 * DAY_MS);
    const swept = await stack.sweep();
    expect(swept.failed).toEqual([exportId]);
    expect(swept.expired.length).toBeGreaterThan(0);
    // u-10010's and u-heavy's first failed exports, each answered by a later one.
    expect(swept.settled.length).toBe(2);
    expect(await stack.jobs.activeExportId('u-swept')).toBeUndefined();
  });

  it('a waiting export is admitted when a running one ends (ExecutionEnded), and by the daily sweep', async () => {
    const operator = { id: 'operator', role: 'operator' } as const;
    const cap = Number(stack.functionRuntime('UserApi').env.MAX_CONCURRENT_EXPORTS);
    const running = await stack.startExport({ userId: 'u-1002', formats: ['json'], actor: operator });
    const gate = hold(running.exportId);
    await gate.staged;
    // Every other slot is held by an export whose ending was never reported.
    for (let i = 1; i < cap; i += 1) expect(await stack.jobs.admission.acquire(newExportId(), cap)).toBe(true);
    const waiting = await stack.startExport({ userId: 'u-1003', formats: ['json'], actor: operator });
    expect(waiting.admittedAt).toBeUndefined();
    gate.release();
    expect((await stack.waitForExport(running.exportId)).job.status).toBe('READY');
    expect((await stack.waitForExport(waiting.exportId)).job.status).toBe('READY');

    expect(await stack.jobs.admission.acquire(newExportId(), cap)).toBe(true);
    const second = await stack.startExport({ userId: 'u-10010', formats: ['json'], actor: operator });
    expect(second.admittedAt).toBeUndefined();
    const swept = await stack.sweep();
    expect(swept.slotsFreed.length).toBe(cap);
    expect(swept.admitted).toEqual([second.exportId]);
    expect((await stack.waitForExport(second.exportId)).job.status).toBe('READY');
  });

  it('was refused nothing, and left no grant of any function unused', () => {
    const { decisions } = stack.permissions;
    expect(decisions.filter((d) => !d.allowed)).toEqual([]);
    const unused: string[] = [];
    // The functions, the state machine's role that invokes them, and the sweep schedule's.
    for (const functionName of [...stack.permissions.functionNames, STATE_MACHINE, SWEEP_SCHEDULE]) {
      for (const grant of stack.permissions.grantedActions(functionName)) {
        if (PLATFORM.test(grant.action)) continue;
        for (const pattern of grant.resources) {
          const label = `${functionName} ${grant.action} ${pattern}`;
          const used = decisions.some((d) => d.allowed && d.functionName === functionName && d.action === grant.action && d.candidates.some((r) => matches(pattern, r)));
          if (!used && !(label in REACHED_ELSEWHERE)) unused.push(label);
        }
      }
    }
    expect(unused).toEqual([]);
    // Each exemption is still a grant the template holds (an exemption for a grant removed is stale).
    const granted = stack.permissions.functionNames.flatMap((fn) => stack.permissions.grantedActions(fn).flatMap((g) => g.resources.map((r) => `${fn} ${g.action} ${r}`)));
    for (const label of Object.keys(REACHED_ELSEWHERE)) expect(granted).toContain(label);
  });
});
