// What one export of each demo user costs in the requests AWS bills by, counted on the embedded stack:
// read units its sources' tables consumed (as the DynamoDB emulator counted them), requests to the jobs
// table, S3 and SES requests by command, the Lambda invocations and their time per function, the state
// transitions its execution took, and the archive's size. The README's cost model is built from these.
import { DEMO_USERS, buildDemoSeed } from '../local/demo-seed.ts';
import { EmbeddedStack, LOCAL_JOBS_TABLE } from '../local/embedded-stack.ts';
import type { SdkClient } from '../lambdas/core/runtime.ts';

export interface ExportCost {
  userId: string;
  readUnits: number;
  jobsTableRequests: number;
  s3Requests: Record<string, number>;
  sesMessages: number;
  /** Invocations and milliseconds, per function (local time: an order of magnitude, not Lambda's). */
  invocations: Record<string, { count: number; ms: number }>;
  /** Task invocations: each is two state transitions (entered, exited); Choice and Pass states add one each. */
  taskInvocations: number;
  archiveBytes: number;
}

type Command = { constructor: { name: string } };

export async function demoExportCosts(): Promise<ExportCost[]> {
  const s3: Record<string, number> = {};
  let ses = 0;
  const invocations: Record<string, { count: number; ms: number }> = {};
  const counting = (client: SdkClient, functionName: string) => {
    const target = client as unknown as { send: (command: Command, ...rest: unknown[]) => Promise<unknown> };
    const send = target.send.bind(target);
    const name = (client as { constructor: { name: string } }).constructor.name;
    target.send = (command, ...rest) => {
      const key = `${functionName} ${command.constructor.name.replace(/Command$/, '')}`;
      if (name === 'S3Client') s3[key] = (s3[key] ?? 0) + 1;
      if (name === 'SESv2Client') ses += 1;
      return send(command, ...rest);
    };
  };
  const stack = await EmbeddedStack.start({
    dataMapFile: 'config/data-map.json',
    meterReads: true,
    cooldownHours: 0,
    wrapClient: counting,
    wrapTask: (task, handler) => async (event, context) => {
      const started = performance.now();
      try {
        return await handler(event, context);
      } finally {
        const entry = (invocations[task] ??= { count: 0, ms: 0 });
        entry.count += 1;
        entry.ms += performance.now() - started;
      }
    },
  });
  try {
    await stack.loadSeed(buildDemoSeed());
    const meter = stack.readMeter as NonNullable<EmbeddedStack['readMeter']>;
    const costs: ExportCost[] = [];
    for (const userId of DEMO_USERS) {
      const units = (table?: string) => meter.reads.filter((r) => (table === undefined ? r.table !== LOCAL_JOBS_TABLE : r.table === table)).reduce((sum, r) => sum + r.units, 0);
      const jobsRequests = () => [...meter.requests].filter(([key]) => key.startsWith(`${LOCAL_JOBS_TABLE} `)).reduce((sum, [, n]) => sum + n, 0);
      const before = { units: units(), jobs: jobsRequests(), s3: { ...s3 }, ses, invocations: structuredClone(invocations) };
      const job = await stack.startExport({ userId, formats: ['json', 'csv'], actor: { id: 'bench', role: 'operator' } });
      const { job: done } = await stack.waitForExport(job.exportId);
      if (done.status !== 'READY') throw new Error(`The export of ${userId} ended ${done.status}: ${done.failureReason ?? ''}`);
      const delta = Object.fromEntries(
        Object.entries(invocations).map(([k, v]) => [k, { count: v.count - (before.invocations[k]?.count ?? 0), ms: Math.round(v.ms - (before.invocations[k]?.ms ?? 0)) }]),
      );
      costs.push({
        userId,
        readUnits: units() - before.units,
        jobsTableRequests: jobsRequests() - before.jobs,
        s3Requests: Object.fromEntries(
          Object.entries(s3)
            .map(([k, v]): [string, number] => [k, v - (before.s3[k] ?? 0)])
            .filter(([, v]) => v > 0),
        ),
        sesMessages: ses - before.ses,
        invocations: delta,
        taskInvocations: Object.values(delta).reduce((sum, v) => sum + v.count, 0),
        archiveBytes: done.archiveBytes ?? 0,
      });
    }
    return costs;
  } finally {
    await stack.stop();
  }
}
