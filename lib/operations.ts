// What operators see: alarms on failed or timed-out exports, Lambda errors and throttles, delivery
// failures, requests near their due date unanswered and a sweep that stopped running, all to one
// encrypted SNS topic; and a dashboard of exports started, succeeded and failed,
// their duration and archive sizes.
import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type AlarmProps, Dashboard, GraphWidget, Metric, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS, METRICS_NAMESPACE, SERVICE_NAME, type MetricName } from '../lambdas/core/platform/observability.ts';
import type { HouseFunction } from './house-function.ts';

/**
 * A custom metric the handlers emit (EMF through Powertools Metrics), with the `service` dimension they
 * give every metric: an alarm on the name alone would watch a metric nobody writes.
 */
function customMetric(name: MetricName, statistic: string, period: Duration): Metric {
  return new Metric({ namespace: METRICS_NAMESPACE, metricName: METRICS[name].name, dimensionsMap: { service: SERVICE_NAME }, statistic, period });
}

export interface OperationsProps {
  alarmEmail: string;
  stateMachine: StateMachine;
  functions: HouseFunction[];
  /** The daily sweep, which publishes ExportsNearDue: its absence is an alarm of its own. */
  sweeper: HouseFunction;
}

export class Operations extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    // Its own key: CloudWatch must be able to use it, and it must never touch the key of users' data.
    const topicKey = new Key(this, 'AlarmsKey', { description: 'user-data-export: encrypts the alarms topic', enableKeyRotation: true });
    topicKey.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'Alarms', { displayName: 'user-data-export alarms', masterKey: topicKey, enforceSSL: true });
    // enforceSSL writes a topic policy, and a topic policy replaces SNS's default one: without this
    // statement nothing would let CloudWatch deliver an alarm. Only alarms of this account may publish.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.topic);
    const alarm = (name: string, metric: IMetric, description: string, over: Partial<AlarmProps> = {}) => {
      const created = new Alarm(this, name, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
        ...over,
      });
      created.addAlarmAction(action);
      return created;
    };
    const sm = props.stateMachine;
    alarm('ExecutionsFailed', sm.metricFailed({ period: Duration.minutes(5) }), 'An export failed: the user was told; read the job row and the execution history.');
    alarm('ExecutionsTimedOut', sm.metricTimedOut({ period: Duration.minutes(5) }), 'An export ran past the state machine timeout.');
    alarm('DeliveryFailures', customMetric('DeliveryFailures', 'Sum', Duration.minutes(5)), 'An export email could not be sent; the user can get the link again with resend.');
    // The sweep publishes once a day. Hourly periods over 25 hours: one sweep that counted any request
    // keeps the alarm up until the next sweep has passed; the count itself is in the alarm's datapoint.
    alarm(
      'ExportsNearDue',
      customMetric('ExportsNearDue', 'Maximum', Duration.hours(1)),
      'Export requests are unanswered (not READY) within dueAlarmHours of their legal due date: read the sweep log line for their ids, and start a new export for a failed one.',
      { evaluationPeriods: 25, datapointsToAlarm: 1 },
    );
    // Without a sweep nobody counts, expires or closes anything: 26 hours with no invocation is an alarm
    // (missing data breaches here), so a deleted schedule or a role that cannot invoke does not go unseen.
    alarm('SweepMissing', props.sweeper.metricInvocations({ period: Duration.hours(1), statistic: 'Sum' }), 'The daily sweep of open export requests has not run for 26 hours.', {
      evaluationPeriods: 26,
      datapointsToAlarm: 26,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.BREACHING,
    });
    for (const fn of props.functions) {
      const name = fn.node.id;
      alarm(`${name}Errors`, fn.metricErrors({ period: Duration.minutes(5) }), `${name} threw errors.`);
      alarm(`${name}Throttles`, fn.metricThrottles({ period: Duration.minutes(5) }), `${name} was throttled.`);
    }

    const archiveBytes = customMetric('ArchiveBytes', 'Average', Duration.hours(1));
    this.dashboard = new Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new GraphWidget({
            title: 'Exports',
            left: [sm.metricStarted(), sm.metricSucceeded(), sm.metricFailed(), sm.metricTimedOut()],
            width: 12,
          }),
          new GraphWidget({ title: 'Export duration (ms)', left: [sm.metricTime({ statistic: 'p50' }), sm.metricTime({ statistic: 'p99' })], width: 12 }),
        ],
        [
          new GraphWidget({ title: 'Archive size (bytes)', left: [archiveBytes, archiveBytes.with({ statistic: 'Maximum' })], width: 12 }),
          new GraphWidget({ title: 'Lambda errors', left: props.functions.map((fn) => fn.metricErrors()), width: 12 }),
        ],
      ],
    });
  }
}
