// A Cognito throttle slows the collector down: it pauses and reads again within its call, burning no
// retry, so a passing one costs a pause; one that outlasts the call's time budget is a read that
// failed, retried by the state machine, and one that persists through those fails the export visibly,
// naming the source. A database that refuses connections is a read that failed from the start. Neither
// leaves an export hanging or exporting less.
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SdkClient } from '../../lambdas/core/runtime.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import { STATE_MACHINE } from '../../local/iam/policy-enforcer.ts';

const dir = mkdtempSync(join(tmpdir(), 'store-faults-'));
const fault = (name: string, message: string) => Object.assign(new Error(message), { name, $fault: 'client' });

/** Cognito calls per user, and which of them are throttled. */
const throttled = new Map<string, (call: number) => boolean>();
const calls = new Map<string, number>();

function throttling(client: SdkClient): void {
  if (!(client instanceof CognitoIdentityProviderClient)) return;
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  Object.assign(client, {
    send: (command: { input: { Username?: string } }) => {
      const user = command.input.Username ?? '';
      const call = (calls.get(user) ?? 0) + 1;
      calls.set(user, call);
      if (throttled.get(user)?.(call)) return Promise.reject(fault('TooManyRequestsException', 'Rate exceeded'));
      return send(command);
    },
  });
}

describe('a Cognito throttle', () => {
  let stack: EmbeddedStack;
  beforeAll(async () => {
    const file = join(dir, 'cognito.json');
    writeFileSync(
      file,
      JSON.stringify({ userPools: { customers: {} }, sources: [{ id: 'identity', category: 'account', type: 'cognito', userPool: 'customers', match: 'username' }] }),
    );
    // A short call budget: a throttle that persists fails each call after a few pauses, not ten minutes.
    stack = await EmbeddedStack.start({ dataMapFile: file, retryIntervalMs: 0, wrapClient: throttling, collectBudgetSeconds: 1 });
    await stack.loadSeed({
      tables: {},
      schemas: {},
      objects: [],
      cognito: { customers: ['once', 'always'].map((username) => ({ username, attributes: { email: `${username}@example.com` }, groups: [], enabled: true })) },
    });
  }, 120_000);
  afterAll(() => stack?.stop());

  async function exportOf(userId: string) {
    const job = await stack.startExport({ userId, formats: ['json'], email: `${userId}@example.com`, actor: { id: 'test', role: 'operator' } });
    return (await stack.waitForExport(job.exportId)).job;
  }

  it('is waited out within the call: read again after a pause, no retry of the step, and the export holds the identity', async () => {
    throttled.set('once', (call) => call === 1);
    const collects = () =>
      stack.permissions.decisions.filter((d) => d.functionName === STATE_MACHINE && d.action === 'lambda:InvokeFunction' && d.resource.includes('CollectSource')).length;
    const before = collects();
    const job = await exportOf('once');
    expect(job.status, job.failureReason).toBe('READY');
    expect(job.sources.identity?.records).toBe(1);
    // AdminGetUser throttled, then AdminGetUser and AdminListGroupsForUser: one call of CollectSource.
    expect(calls.get('once')).toBe(3);
    // The state machine invoked CollectSource once: the throttle cost no retry.
    expect(collects() - before).toBe(1);
  });

  it('fails the export, naming the source, when it persists through every call and retry', async () => {
    throttled.set('always', () => true);
    const job = await exportOf('always');
    expect(job.status).toBe('FAILED');
    expect(job.failureReason).toContain('identity');
    expect(job.failureReason).toContain('TooManyRequestsException');
    // The first call and the five retries the ASL allows a failed read, each pausing and reading again.
    expect(calls.get('always')).toBeGreaterThan(6);
  });
});

describe('a database that refuses connections', () => {
  it('fails the export visibly after the retries, naming the source', async () => {
    // A port with nothing listening: every connection is refused, as from a database that is down.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as { port: number };
        server.close(() => resolve(free));
      });
    });
    let starts = 0;
    const file = join(dir, 'postgres.json');
    writeFileSync(
      file,
      JSON.stringify({
        databases: { shop: { engine: 'postgres', database: 'shop' } },
        sources: [{ id: 'orders', category: 'payment', type: 'postgres', database: 'shop', table: 'orders', userColumn: 'buyer_id', orderBy: ['order_id'] }],
      }),
    );
    const stack = await EmbeddedStack.start({
      dataMapFile: file,
      retryIntervalMs: 0,
      postgresServer: () => ((starts += 1), Promise.resolve({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', close: () => Promise.resolve() })),
    });
    try {
      const job = await stack.startExport({ userId: 'alice', formats: ['json'], email: 'alice@example.com', actor: { id: 'test', role: 'operator' } });
      const { job: ended } = await stack.waitForExport(job.exportId);
      expect(starts).toBe(1);
      expect(ended.status).toBe('FAILED');
      expect(ended.failureReason).toMatch(/orders/);
      expect(ended.failureReason).toMatch(/ECONNREFUSED/);
    } finally {
      await stack.stop();
    }
  }, 120_000);
});
