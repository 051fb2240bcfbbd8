// The daily sweep as deployed, asserted on the synthesized template: the open-requests index it reads,
// a daily schedule whose own role may only invoke the sweep function, the workflow's timeout passed to it
// from the ASL file, and the alarms on what it counts and on its absence.
import type { Template } from 'aws-cdk-lib/assertions';
import { Match } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataMapFile } from '../../lambdas/core/data-map/data-map.ts';
import { authorize } from '../../local/iam/enforce.ts';
import { PolicyEnforcer, SWEEP_SCHEDULE } from '../../local/iam/policy-enforcer.ts';
import { synthesize } from '../../local/iam/stack-template.ts';
import { policyOf, synth } from '../support/stack-synth.ts';

let template: Template;
beforeAll(() => {
  ({ template } = synth({ retentionDays: '9', dueAlarmHours: '48' }));
});

type Resource = { Properties: Record<string, unknown> };
const only = (type: string): [string, Resource] => {
  const found = Object.entries(template.findResources(type)) as [string, Resource][];
  expect(found, type).toHaveLength(1);
  return found[0] as [string, Resource];
};
const sweeperFunction = () => {
  const found = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) => id.includes('SweepExports')) as [string, Resource][];
  expect(found).toHaveLength(1);
  return found[0] as [string, Resource];
};

describe('the sweep', () => {
  it('reads a sparse index of open requests keyed by open and dueBy, with every attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: 'openRequests',
          KeySchema: [
            { AttributeName: 'open', KeyType: 'HASH' },
            { AttributeName: 'dueBy', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ]),
    });
  });

  it('runs daily at a fixed time, targeting SweepExports, as a role that may only invoke it', () => {
    const [, schedule] = only('AWS::Scheduler::Schedule');
    const [fnId] = sweeperFunction();
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'cron(0 6 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
    });
    // Enabled: CloudFormation's default when State is left out.
    expect(schedule.Properties.State ?? 'ENABLED').toBe('ENABLED');
    const target = schedule.Properties.Target as { Arn: unknown; RoleArn: { 'Fn::GetAtt': string[] } };
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    const roleId = target.RoleArn['Fn::GetAtt'][0] ?? '';
    expect(policyOf(template, roleId)).toEqual([{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [fnId, 'Arn'] } }]);
    const role = template.findResources('AWS::IAM::Role')[roleId] as Resource;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [{ Principal: { Service: 'scheduler.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }],
    });
  });

  it('is given the state machine’s timeout from the ASL file, the retention and the due window', () => {
    const asl = JSON.parse(readFileSync('state-machines/export.asl.json', 'utf8')) as { TimeoutSeconds: number };
    const [, fn] = sweeperFunction();
    expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      EXECUTION_TIMEOUT_SECONDS: String(asl.TimeoutSeconds),
      RETENTION_DAYS: '9',
      DUE_ALARM_HOURS: '48',
    });
  });

  it('alarms when a sweep counted a request near its due date, and when no sweep ran for more than a day', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'UserDataExport',
      MetricName: 'ExportsNearDue',
      Dimensions: [{ Name: 'service', Value: 'user-data-export' }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      AlarmActions: [Match.anyValue()],
    });
    const [fnId] = sweeperFunction();
    const missing = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Invocations' } })) as Resource[];
    expect(missing).toHaveLength(1);
    const alarm = missing[0]?.Properties ?? {};
    expect(alarm).toMatchObject({
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
      Statistic: 'Sum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    expect(JSON.stringify(alarm.AlarmActions)).toMatch(/^\[\{"Ref":"OperationsAlarms[0-9A-F]{8}"\}\]$/);
    // Every one of the hours must be without a sweep, and they span more than the day between two sweeps.
    expect(alarm.DatapointsToAlarm).toBe(alarm.EvaluationPeriods);
    expect(Number(alarm.Period) * Number(alarm.EvaluationPeriods)).toBeGreaterThan(86_400);
    // CloudWatch refuses more than seven days of evaluation.
    expect(Number(alarm.Period) * Number(alarm.EvaluationPeriods)).toBeLessThanOrEqual(7 * 86_400);
  });
});

describe('the sweep’s schedule, as the embedded stack enforces it', () => {
  it('may invoke SweepExports, its unqualified ARN, and nothing else', async () => {
    const stack = await synthesize({ dataMapFile: 'config/data-map.json', senderEmail: 'privacy@cartropic.com' });
    const permissions = new PolicyEnforcer(stack, loadDataMapFile('config/data-map.json'));
    expect(permissions.grantedActions(SWEEP_SCHEDULE)).toEqual([{ action: 'lambda:InvokeFunction', resources: [permissions.functionArns.SweepExports] }]);
    await expect(authorize(permissions, SWEEP_SCHEDULE, 'LambdaClient', 'InvokeCommand', { FunctionName: permissions.functionArns.SweepExports })).resolves.toBeUndefined();
    await expect(authorize(permissions, SWEEP_SCHEDULE, 'LambdaClient', 'InvokeCommand', { FunctionName: permissions.functionArns.MarkFailed })).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });
});
