// What the deployed stack guarantees for running exports, asserted on the synthesized template: the workflow
// and its definition asset, the API's authorizers and throttling, alarms and dashboard, a clean cdk-nag report,
// and the app configuration.
import { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { Match } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppConfigError, parseAppConfig } from '../../lib/app-config.ts';
import { addNagChecks } from '../../lib/nag.ts';
import { UserDataExportStack } from '../../lib/user-data-export-stack.ts';
import { baseContext, cdkJsonContext, synth } from '../support/stack-synth.ts';

let template: Template;
let app: App;
beforeAll(() => {
  ({ template, app } = synth());
});

describe('the workflow', () => {
  it('runs state-machines/export.asl.json with each Task bound to its function, traced and logged at ALL', () => {
    const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as { Properties: Record<string, unknown> }[];
    expect(machines).toHaveLength(1);
    const machine = machines[0]?.Properties ?? {};
    expect(machine.TracingConfiguration).toEqual({ Enabled: true });
    expect(machine.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
    expect(Object.keys(machine.DefinitionSubstitutions as object).sort()).toEqual([
      'BundleArchiveFunctionArn',
      'CollectDatabaseSourceFunctionArn',
      'CollectSourceFunctionArn',
      'MarkFailedFunctionArn',
      'PrepareExportFunctionArn',
      'SendLinkFunctionArn',
    ]);
    // The demo map has database sources: each collector Task names its own function.
    const substitutions = machine.DefinitionSubstitutions as Record<string, { 'Fn::GetAtt': string[] }>;
    expect(substitutions.CollectDatabaseSourceFunctionArn?.['Fn::GetAtt'][0]).toMatch(/^WorkflowCollectDatabaseSource/);
    expect(substitutions.CollectSourceFunctionArn?.['Fn::GetAtt'][0]).toMatch(/^WorkflowCollectSource(?!Database)/);
    // DefinitionBody.fromFile ships the file as an asset: the deployed definition is byte for byte the
    // file the local runner executes.
    const key = (machine.DefinitionS3Location as { Key: string }).Key;
    const assembly = app.synth();
    const assetManifest = assembly.artifacts.find((a) => a.id === 'UserDataExport.assets') as { file: string } | undefined;
    const files = (JSON.parse(readFileSync(assetManifest?.file ?? '', 'utf8')) as { files: Record<string, { source: { path: string } }> }).files;
    const staged = files[key.replace(/\.json$/, '')]?.source.path ?? '(no asset)';
    expect(readFileSync(join(assembly.directory, staged)).equals(readFileSync('state-machines/export.asl.json'))).toBe(true);
  });

  it('reports every ending to ExecutionEnded (it frees the admission slot, and closes jobs of executions that failed, timed out or were stopped outside the Catch)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.states'], 'detail-type': ['Step Functions Execution Status Change'], detail: { status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] } },
    });
  });

  it('gives every function that admits exports the cap: the APIs, ExecutionEnded and the sweep', () => {
    const functions = template.findResources('AWS::Lambda::Function') as Record<string, { Properties: { Environment?: { Variables?: Record<string, unknown> } } }>;
    const capped = Object.keys(functions)
      .filter((id) => functions[id]?.Properties.Environment?.Variables?.MAX_CONCURRENT_EXPORTS === '50')
      .map((id) => id.replace(/[0-9A-F]{8}$/, ''))
      .sort();
    expect(capped).toEqual(['ApiSupportApi', 'ApiUserApi', 'SweeperSweepExports', 'WorkflowExecutionEnded']);
  });
});

describe('the API and operations', () => {
  it('guards user routes with a JWT authorizer, support routes with IAM, and leaves only the download route open', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')) as { Properties: { RouteKey: string; AuthorizationType?: string } }[];
    const auth = Object.fromEntries(routes.map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType ?? 'NONE']));
    expect(auth).toEqual({
      'POST /exports': 'JWT',
      'GET /exports': 'JWT',
      'GET /exports/{id}': 'JWT',
      'POST /exports/{id}/resend': 'JWT',
      'DELETE /exports/{id}': 'JWT',
      'POST /support/exports': 'AWS_IAM',
      'GET /support/exports/{id}': 'AWS_IAM',
      'POST /support/exports/{id}/resend': 'AWS_IAM',
      'DELETE /support/exports/{id}': 'AWS_IAM',
      'GET /support/users/{userId}/exports': 'AWS_IAM',
      'GET /support/users/{userId}/audit': 'AWS_IAM',
      'GET /exports/{id}/download': 'NONE',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      RouteSettings: { 'GET /exports/{id}/download': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 } },
      AccessLogSettings: { DestinationArn: Match.anyValue() },
    });
  });

  it('uses a Cognito user pool when no issuer is configured, and the given issuer otherwise', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    const external = synth({ jwtIssuer: 'https://login.cartropic.com/', jwtAudience: 'account-page' }).template;
    external.resourceCountIs('AWS::Cognito::UserPool', 0);
    external.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://login.cartropic.com/', Audience: ['account-page'] },
    });
  });

  it('alarms on failures, timeouts, delivery, errors and throttles to an encrypted topic, and has a dashboard', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@cartropic.com' });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: { MetricName: string; AlarmActions: unknown[] } }[];
    // Three for the workflow, two for the sweep (requests near their due date, a sweep that did not run),
    // and errors and throttles of each of the eleven functions (CollectDatabaseSource and SweepExports included).
    expect(alarms).toHaveLength(3 + 2 + 11 * 2);
    expect(new Set(alarms.map((a) => a.Properties.MetricName))).toEqual(
      new Set(['ExecutionsFailed', 'ExecutionsTimedOut', 'DeliveryFailures', 'ExportsNearDue', 'Invocations', 'Errors', 'Throttles']),
    );
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toHaveLength(1);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('cdk-nag (AwsSolutions)', () => {
  it('reports nothing unacknowledged on the stack, bundles included', () => {
    const { app } = synth({}, { bundle: true, nag: true });
    expect(() => app.synth()).not.toThrow();
  });

  it('does fail synthesis on a finding nobody acknowledged', () => {
    const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
    const stack = new UserDataExportStack(app, 'UserDataExport', { config: parseAppConfig(baseContext) });
    new Bucket(stack, 'CarelessBucket');
    addNagChecks(app);
    expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
  });
});

describe('the app configuration', () => {
  it('lists every missing or wrong value at once', () => {
    let message = '';
    try {
      parseAppConfig({ retentionDays: '0', jwtIssuer: 'not a url' });
    } catch (error) {
      expect(error).toBeInstanceOf(AppConfigError);
      message = (error as Error).message;
    }
    expect(message).toContain('senderEmail: is not set');
    expect(message).toContain('alarmEmail: is not set');
    expect(message).toContain('retentionDays: Too small');
    expect(message).toContain('jwtIssuer: must be the OIDC issuer URL');
  });

  it('gives BundleArchive two vCPUs, and MAX_ARCHIVE_BYTES only when maxArchiveBytes is set', () => {
    const bundleFunction = (t: Template) =>
      (
        Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) => id.includes('BundleArchive'))?.[1] as {
          Properties: { MemorySize: number; Environment: { Variables: Record<string, string> } };
        }
      ).Properties;
    expect(bundleFunction(template).MemorySize).toBe(3538);
    expect(bundleFunction(template).Environment.Variables.MAX_ARCHIVE_BYTES).toBeUndefined();
    const split = synth({ maxArchiveBytes: '1073741824' }).template;
    expect(bundleFunction(split).Environment.Variables.MAX_ARCHIVE_BYTES).toBe('1073741824');
    expect(() => parseAppConfig({ ...baseContext, maxArchiveBytes: 1000 })).toThrow(/maxArchiveBytes: must be at least 65536/);
  });

  it('tells every function that writes audit rows how long they are kept (auditRetentionDays, default 400)', () => {
    const environments = (t: Template) =>
      Object.entries(t.findResources('AWS::Lambda::Function')).map(
        ([id, fn]) => [id, (fn as { Properties: { Environment: { Variables: Record<string, string> } } }).Properties.Environment.Variables.AUDIT_RETENTION_DAYS] as const,
      );
    const writers = ['UserApi', 'SupportApi', 'Download', 'SendLink', 'MarkFailed', 'ExecutionEnded', 'SweepExports'];
    for (const [id, days] of environments(template)) expect(days, id).toBe(writers.some((w) => id.includes(w)) ? '400' : undefined);
    for (const [id, days] of environments(synth({ auditRetentionDays: '30' }).template)) if (writers.some((w) => id.includes(w))) expect(days, id).toBe('30');
    expect(() => parseAppConfig({ ...baseContext, auditRetentionDays: 0 })).toThrow(/auditRetentionDays/);
  });

  it('gives the functions that create jobs the response time (responseDays, default 30, 1 to 90), and bounds the due window by it', () => {
    const responseDays = (t: Template) =>
      Object.fromEntries(
        Object.entries(t.findResources('AWS::Lambda::Function')).flatMap(([id, fn]) => {
          const days = (fn as { Properties: { Environment: { Variables: Record<string, string> } } }).Properties.Environment.Variables.RESPONSE_DAYS;
          return days === undefined ? [] : [[id.replace(/^Api|[0-9A-F]{8}$/g, ''), days]];
        }),
      );
    expect(responseDays(template)).toEqual({ UserApi: '30', SupportApi: '30' });
    expect(responseDays(synth({ responseDays: '60' }).template)).toEqual({ UserApi: '60', SupportApi: '60' });
    expect(() => parseAppConfig({ ...baseContext, responseDays: 0 })).toThrow(/responseDays: Too small/);
    expect(() => parseAppConfig({ ...baseContext, responseDays: 91 })).toThrow(/responseDays: must be at most 90/);
    // A window as long as the response time would count every export from the moment it is received.
    expect(() => parseAppConfig({ ...baseContext, responseDays: 3, dueAlarmHours: 72 })).toThrow(/dueAlarmHours: must be less than responseDays × 24 \(72\)/);
    expect(parseAppConfig({ ...baseContext, responseDays: 4, dueAlarmHours: 72 })).toMatchObject({ responseDays: 4, dueAlarmHours: 72 });
  });

  it('fills defaults and reads -c strings', () => {
    expect(parseAppConfig({ ...baseContext, retentionDays: '14', jwtIssuer: 'https://i.example/', jwtAudience: 'a, b' })).toMatchObject({
      retentionDays: 14,
      linkLifetimeHours: 72,
      cooldownHours: 24,
      responseDays: 30,
      dueAlarmHours: 72,
      jwtAudience: ['a', 'b'],
    });
  });
});
