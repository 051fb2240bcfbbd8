// What operators read, from the handlers as they run on the embedded stack: the metrics each alarm and
// dashboard widget of the synthesized stack watches are ones the code really emits (namespace, name and
// dimensions alike), and a failure's log line carries the export, the hashed user, the source, and the
// error with its stack and cause chain.
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userIdHash } from '../../lambdas/core/platform/observability.ts';
import type { SdkClient } from '../../lambdas/core/runtime.ts';
import { createExecutionEndedHandler } from '../../lambdas/execution-ended.ts';
import { EmbeddedStack } from '../../local/embedded-stack.ts';
import { lambdaContext } from '../../local/local-workflow.ts';
import { EXPORT_DEFINITION_FILE } from '../../state-machines/definition.ts';
import type { LogEntry } from '../../local/function-runtime.ts';
import { writeDataMap } from '../support/data-map-file.ts';
import { synth } from '../support/stack-synth.ts';

const dir = mkdtempSync(join(tmpdir(), 'observability-'));
const dataMapFile = writeDataMap(dir, [
  { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' },
  { id: 'files', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
]);
const USERS = ['delivered', 'unmailable', 'unreadable'];

/** SES refuses mail to `unmailable`; S3 refuses to copy `unreadable`'s files, with a cause of its own. */
function faults(client: SdkClient, functionName: string): void {
  const send = client.send.bind(client) as (command: { constructor: { name: string }; input: Record<string, unknown> }) => Promise<unknown>;
  const refuse = (command: Parameters<typeof send>[0]): Error | undefined => {
    if (client instanceof SESv2Client && JSON.stringify(command.input).includes('unmailable@example.com')) {
      return Object.assign(new Error('Email address is not verified.'), { name: 'MessageRejected' });
    }
    if (
      client instanceof S3Client &&
      functionName === 'CollectSource' &&
      command.constructor.name === 'CopyObjectCommand' &&
      String(command.input.CopySource).includes('users/unreadable/')
    ) {
      return Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError' });
    }
    return undefined;
  };
  Object.assign(client, {
    send: (command: Parameters<typeof send>[0]) => {
      const refusal = refuse(command);
      return refusal ? Promise.reject(refusal) : send(command);
    },
  });
}

let stack: EmbeddedStack;
const logs: LogEntry[] = [];

beforeAll(async () => {
  stack = await EmbeddedStack.start({ dataMapFile, retryIntervalMs: 0, cooldownHours: 0, wrapClient: faults, logs: (entry) => logs.push(entry) });
  await stack.loadSeed({
    tables: { Users: USERS.map((u) => ({ userId: { S: u }, email: { S: `${u}@example.com` } })) },
    schemas: {},
    objects: USERS.map((u) => ({ bucket: 'uploads', key: `users/${u}/note.txt`, base64: Buffer.from(`a note of ${u}`).toString('base64') })),
  });
  for (const userId of USERS) {
    const job = await stack.startExport({ userId, formats: ['json'], actor: { id: 'observability-test', role: 'operator' } });
    await stack.waitForExport(job.exportId);
  }
  await stack.sweep();
});

afterAll(async () => {
  await stack?.stop();
});

/** How often the ASL retries SendLink on a DeliveryError. */
function deliveryRetries(): number {
  const asl = JSON.parse(readFileSync(EXPORT_DEFINITION_FILE, 'utf8')) as { States: { SendLink: { Retry: { ErrorEquals: string[]; MaxAttempts: number }[] } } };
  return asl.States.SendLink.Retry.find((r) => r.ErrorEquals.includes('DeliveryError'))?.MaxAttempts ?? 0;
}

interface MetricStat {
  Namespace: string;
  MetricName: string;
  Dimensions?: { Name: string; Value: string }[];
}

/** Every custom metric the synthesized stack's alarms and dashboard read (the AWS/* ones are the services'). */
function watchedCustomMetrics(): { source: string; namespace: string; name: string; dimensions: Record<string, string> }[] {
  const { template } = synth();
  const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm')) as [string, { Properties: MetricStat }][];
  const fromAlarms = alarms.map(([id, alarm]) => ({
    source: `alarm ${id}`,
    namespace: alarm.Properties.Namespace,
    name: alarm.Properties.MetricName,
    dimensions: Object.fromEntries((alarm.Properties.Dimensions ?? []).map((d) => [d.Name, d.Value])),
  }));
  // The dashboard body is JSON joined from strings and tokens; its metrics are arrays [namespace, name, dimension, value, …].
  const bodies = Object.values(template.findResources('AWS::CloudWatch::Dashboard')).map((d) =>
    JSON.stringify((d as { Properties: { DashboardBody: unknown } }).Properties.DashboardBody),
  );
  const fromDashboard = bodies.flatMap((body) =>
    [...body.matchAll(/\[\\"(UserDataExport)\\",\\"(\w+)\\"((?:,\\"[^"\\]+\\")*)/g)].map((m) => {
      const pairs = [...(m[3] ?? '').matchAll(/\\"([^"\\]+)\\"/g)].map((p) => p[1] ?? '');
      const dimensions: Record<string, string> = {};
      for (let i = 0; i + 1 < pairs.length; i += 2) dimensions[pairs[i] ?? ''] = pairs[i + 1] ?? '';
      return { source: 'dashboard', namespace: m[1] ?? '', name: m[2] ?? '', dimensions };
    }),
  );
  return [...fromAlarms, ...fromDashboard].filter((metric) => !metric.namespace.startsWith('AWS/'));
}

describe('metrics', () => {
  it('every custom metric an alarm or the dashboard watches is one a handler emitted, dimensions included', () => {
    const watched = watchedCustomMetrics();
    expect(watched.map((w) => w.name).sort()).toEqual(['ArchiveBytes', 'ArchiveBytes', 'DeliveryFailures', 'ExportsNearDue']);
    for (const metric of watched) {
      const emitted = stack.metrics.filter((m) => m.namespace === metric.namespace && m.name === metric.name);
      expect(emitted.length, `${metric.source} watches ${metric.name}, which no handler emitted`).toBeGreaterThan(0);
      for (const one of emitted) expect(one.dimensions, `${metric.source}: the dimensions of ${metric.name}`).toEqual(metric.dimensions);
    }
  });

  it('emits each delivered archive’s size and each refused email, from SendLink, with the service dimension', () => {
    const bytes = stack.metrics.filter((m) => m.name === 'ArchiveBytes');
    expect(bytes).toHaveLength(1);
    expect(bytes[0]).toMatchObject({ functionName: 'SendLink', namespace: 'UserDataExport', unit: 'Bytes', dimensions: { service: 'user-data-export' } });
    expect(bytes[0]?.value).toBeGreaterThan(0);
    const failures = stack.metrics.filter((m) => m.name === 'DeliveryFailures');
    // Each attempt the ASL makes at SendLink is one refused email: the first and every DeliveryError retry.
    expect(failures).toHaveLength(1 + deliveryRetries());
    expect(failures.every((m) => m.functionName === 'SendLink' && m.unit === 'Count' && m.value === 1)).toBe(true);
  });
});

describe('logs', () => {
  it('a failed step logs one JSON line with the export, the hashed user, the source, and the error with stack and cause', async () => {
    const [job] = await stack.jobs.listByUser('unreadable');
    const failed = logs.filter((l) => l.message === 'CollectSource failed' && l.exportId === job?.exportId);
    // Every attempt the ASL makes logs its failure once, each line with the keys of its own invocation.
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const line of failed) expect(line).toMatchObject({ sourceId: 'files', userIdHash: userIdHash('unreadable') });
    const line = failed[0] as LogEntry & { error: { name: string; message: string; stack: string; cause?: { name: string; message: string; stack: string } } };
    expect(line).toMatchObject({ level: 'ERROR', service: 'user-data-export', function_name: 'CollectSource', sourceId: 'files', userIdHash: userIdHash('unreadable') });
    expect(line.userIdHash).toMatch(/^[0-9a-f]{16}$/);
    expect(line).not.toHaveProperty('userId');
    expect(line.error.name).toBe('SourceReadError');
    expect(line.error.stack).toContain('SourceReadError');
    expect(line.error.cause).toMatchObject({ name: 'InternalError', message: 'We encountered an internal error. Please try again.' });
    expect(line.error.cause?.stack).toContain('InternalError');
  });

  it('keys do not outlive their invocation: the next one, about nothing, carries none of them', async () => {
    const handler = createExecutionEndedHandler(stack.functionRuntime('ExecutionEnded'), stack.workflowAs('ExecutionEnded'));
    const context = lambdaContext('ExecutionEnded', 30);
    const from = logs.length;
    // Both statuses are ones ExecutionEnded ignores (and logs): the first about an export and its user, the second about nothing.
    await handler({ detail: { name: 'e-keyed', status: 'RUNNING', input: JSON.stringify({ exportId: 'e-keyed', userId: 'someone' }) } } as never, context);
    await handler({ detail: { status: 'RUNNING' } } as never, context);
    const [keyed, unkeyed] = logs.slice(from);
    expect(keyed).toMatchObject({ message: 'Ignored an execution status change', exportId: 'e-keyed', userIdHash: userIdHash('someone') });
    expect(unkeyed?.message).toBe('Ignored an execution status change');
    for (const key of ['exportId', 'userIdHash', 'sourceId']) expect(unkeyed).not.toHaveProperty(key);
  });
});
