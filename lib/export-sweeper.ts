// The daily sweep: SweepExports run by EventBridge Scheduler, whose role may invoke that function and
// nothing else. It expires READY exports past retention, closes exports that outlived the state
// machine's timeout, and counts requests unanswered near their due date (the ExportsNearDue alarm).
import { Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { exportTimeoutSeconds } from '../state-machines/definition.ts';
import type { ExportStorage } from './export-storage.ts';
import { HouseFunction } from './house-function.ts';
import type { JobsTable } from './jobs-table.ts';
import type { SenderIdentity } from './sender-identity.ts';

export interface ExportSweeperProps {
  jobs: JobsTable;
  storage: ExportStorage;
  sender: SenderIdentity;
  retentionDays: number;
  dueAlarmHours: number;
}

/** Every day at 06:00 UTC: early in Europe's working day, so an alarm it raises meets people at work. */
export const SWEEP_SCHEDULE = 'cron(0 6 * * ? *)';

export class ExportSweeper extends Construct {
  readonly function: HouseFunction;
  readonly schedule: CfnSchedule;

  constructor(scope: Construct, id: string, props: ExportSweeperProps) {
    super(scope, id);
    const fn = new HouseFunction(this, 'SweepExports', {
      handler: 'sweep-exports',
      description: 'Daily: expires READY exports past retention, closes exports past the workflow timeout, counts requests near their due date',
      timeout: Duration.minutes(5),
      environment: {
        RETENTION_DAYS: String(props.retentionDays),
        DUE_ALARM_HOURS: String(props.dueAlarmHours),
        // Read from the ASL file the state machine deploys: one number, in one place.
        EXECUTION_TIMEOUT_SECONDS: String(exportTimeoutSeconds()),
      },
    });
    // The open-requests index; the user's latest export (does a later one answer a failed request); and
    // closing a timed-out export as ExecutionEnded does: the job, the lock, the audit row, staging, email.
    // And admission: slots of exports that ended unreported are freed, waiting exports started (the queue).
    props.jobs.grant(fn, { items: ['GetItem', 'UpdateItem', 'DeleteItem', 'PutItem'], queryOpen: true, queryHistory: true, queryQueue: true });
    props.storage.grantCleanup(fn);
    props.sender.grantSend(fn);
    this.function = fn;

    const account = Stack.of(this).account;
    // Only schedules of this account's default group may assume it (the confused-deputy guard).
    const role = new Role(this, 'ScheduleRole', {
      description: 'EventBridge Scheduler: invokes SweepExports, nothing else',
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': account,
            'aws:SourceArn': Stack.of(this).formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }),
          },
        },
      }),
    });
    // The unqualified ARN only: the L2 target's grantInvoke would add every version ("<arn>:*").
    role.addToPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
    this.schedule = new CfnSchedule(this, 'Daily', {
      description: 'user-data-export: the daily sweep of open export requests',
      scheduleExpression: SWEEP_SCHEDULE,
      scheduleExpressionTimezone: 'UTC',
      flexibleTimeWindow: { mode: 'OFF' },
      target: { arn: fn.functionArn, roleArn: role.roleArn, retryPolicy: { maximumRetryAttempts: 8, maximumEventAgeInSeconds: 6 * 3600 } },
    });
  }
}
