// What the deployed stack must guarantee, asserted on the synthesized template (the emulators cannot
// show KMS, lifecycle or bucket policy): encryption, public access, TLS, lifecycle, retention, least
// privilege derived from the data map, logging, tracing, runtime, and a clean cdk-nag report.
import { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { Match } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppConfigError, parseAppConfig } from '../../lib/app-config.ts';
import { addNagChecks } from '../../lib/nag.ts';
import { UserDataExportStack } from '../../lib/user-data-export-stack.ts';
import { writeDataMap } from '../support/data-map-file.ts';
import { actionsOf, baseContext, cdkJsonContext, policyOf, resourcesOf, synth, type Statement } from '../support/stack-synth.ts';

let template: Template;
let app: App;
beforeAll(() => {
  ({ template, app } = synth());
});

describe('the export bucket', () => {
  it('is encrypted with the customer-managed key and a bucket key, closed to the public, logged and retained', () => {
    const keys = template.findResources('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('encrypts export archives') } });
    const [dataKeyId] = Object.keys(keys);
    expect((keys[dataKeyId ?? ''] as { Properties: { EnableKeyRotation?: boolean } } | undefined)?.Properties.EnableKeyRotation).toBe(true);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [dataKeyId, 'Arn'] } } },
          ],
        },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'archives-bucket/' },
      },
    });
  });

  it('expires archives after the retention, staging after a day, and aborts incomplete uploads after a day', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Prefix: 'archives/', ExpirationInDays: 7, Status: 'Enabled' }),
          Match.objectLike({ Prefix: 'staging/', ExpirationInDays: 1, Status: 'Enabled' }),
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
        ]),
      },
    });
    const custom = synth({ retentionDays: 30 }).template;
    custom.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Prefix: 'archives/', ExpirationInDays: 30 })]) } });
  });

  it('refuses requests without TLS and puts under any other encryption or key', () => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy')) as { Properties: { PolicyDocument: { Statement: Statement[] } } }[];
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    // Only a put that names another encryption is refused: parts of a multipart upload name none.
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:PutObject',
        Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' }, Null: { 's3:x-amz-server-side-encryption': 'false' } },
      }),
    );
    const keyCondition = statements.find((s) => JSON.stringify(s.Condition ?? {}).includes('aws-kms-key-id'));
    expect(keyCondition).toMatchObject({ Effect: 'Deny', Action: 's3:PutObject' });
    expect(Object.keys(keyCondition?.Condition ?? {}).sort()).toEqual(['Null', 'StringNotEquals']);
  });
});

describe('the jobs table and the link key', () => {
  it('is on-demand, encrypted with the customer-managed key, recoverable, expiring by TTL, indexed by user, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: [
          Match.objectLike({
            IndexName: 'byUser',
            KeySchema: [
              { AttributeName: 'userId', KeyType: 'HASH' },
              { AttributeName: 'createdAt', KeyType: 'RANGE' },
            ],
          }),
        ],
      },
    });
  });

  it('signs links with a KMS HMAC key that only SendLink may use to sign and only Download to verify', () => {
    template.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    const macActions = (prefix: string) =>
      policyOf(template, prefix)
        .flatMap(actionsOf)
        .filter((a) => a.endsWith('Mac'));
    expect(macActions('WorkflowSendLinkRole')).toEqual(['kms:GenerateMac']);
    expect(macActions('ApiDownloadRole')).toEqual(['kms:VerifyMac']);
    expect(macActions('WorkflowCollectSourceRole')).toEqual([]);
  });
});

describe('the functions', () => {
  it('all run Node 22 on ARM with tracing, JSON logs in their own log group with retention', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: Record<string, unknown> }[];
    expect(functions.length).toBe(9);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON' },
      });
      expect((fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref).toMatch(/Logs/);
    }
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup')) as { Properties: { RetentionInDays?: number } }[];
    for (const group of groups) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('never use AWS managed policies, and use "*" only for X-Ray and Step Functions log delivery', () => {
    const roles = Object.values(template.findResources('AWS::IAM::Role')) as { Properties: { ManagedPolicyArns?: unknown } }[];
    for (const role of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { PolicyDocument: { Statement: Statement[] } } }[];
    for (const statement of policies.flatMap((p) => p.Properties.PolicyDocument.Statement)) {
      if (resourcesOf(statement).includes('*')) {
        for (const action of actionsOf(statement))
          expect(action).toMatch(
            /^(xray:|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))/,
          );
      }
      for (const action of actionsOf(statement)) expect(action).not.toMatch(/:\*$|^dynamodb:Scan$/);
    }
  });

  it('read the stores of the data map with Query only, on exactly its tables, indexes and prefixes', () => {
    const statements = policyOf(template, 'WorkflowCollectSourceRole');
    // The jobs table grant also holds Query; the data map's grant is the statement of Query alone.
    const query = statements.filter((s) => actionsOf(s).includes('dynamodb:Query') && !JSON.stringify(s.Resource).includes('JobsTable'));
    expect(query.flatMap(actionsOf)).toEqual(['dynamodb:Query']);
    const resources = query.flatMap(resourcesOf).map((r) => JSON.stringify(r));
    for (const table of [
      'Users',
      'PaymentMethods',
      'UserProfiles',
      'Messages',
      'SupportTickets',
      'Feedback',
      'SearchQueries',
      'DeviceSessions',
      'CoarseLocations',
      'ClientErrorLogs',
      'ResponseTimings',
    ]) {
      expect(
        resources.some((r) => r.includes(`:table/${table}"`)),
        table,
      ).toBe(true);
    }
    expect(resources.some((r) => r.includes(':table/UsageEvents/index/byUser'))).toBe(true);
    expect(resources.some((r) => r.includes(':table/UsageEvents"'))).toBe(false);
    const s3 = statements.filter((s) => actionsOf(s).includes('s3:GetObject') && JSON.stringify(s.Resource).includes('marketplace-uploads'));
    expect(s3.flatMap(resourcesOf)).toEqual([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::marketplace-uploads/users/*/attachments/*']] }]);
  });

  it('derive those grants from whatever data map is configured', () => {
    const dir = mkdtempSync(join(tmpdir(), 'map-'));
    const file = writeDataMap(dir, [
      {
        id: 'profile',
        category: 'account',
        type: 'dynamodb',
        table: 'Accounts',
        partitionKey: 'id',
        keyTemplate: 'U#{userId}',
        kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abc-123',
      },
      { id: 'files', category: 'communication', type: 's3', bucket: 'chat-files', prefix: 'u/{userId}/' },
    ]);
    const statements = policyOf(synth({ dataMapFile: file }).template, 'WorkflowCollectSourceRole');
    const query = statements.filter((s) => actionsOf(s).includes('dynamodb:Query') && !JSON.stringify(s.Resource).includes('JobsTable'));
    expect(query.flatMap(resourcesOf).map((r) => JSON.stringify(r))).toEqual([expect.stringContaining(':table/Accounts"')]);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'kms:Decrypt', Resource: 'arn:aws:kms:eu-west-1:123456789012:key/abc-123' }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 's3:ListBucket', Condition: { StringLike: { 's3:prefix': ['u/*/*'] } } }));
  });

  it('send email only from the configured address', () => {
    const send = policyOf(template, 'WorkflowSendLinkRole').filter((s) => actionsOf(s).includes('ses:SendEmail'));
    expect(send).toHaveLength(1);
    expect(send[0]?.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'privacy@cartropic.com' } });
    expect(JSON.stringify(send[0]?.Resource)).toContain('identity/privacy@cartropic.com');
  });
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
      'CollectSourceFunctionArn',
      'MarkFailedFunctionArn',
      'PrepareExportFunctionArn',
      'SendLinkFunctionArn',
    ]);
    // DefinitionBody.fromFile ships the file as an asset: the deployed definition is byte for byte the
    // file the local runner executes.
    const key = (machine.DefinitionS3Location as { Key: string }).Key;
    const assembly = app.synth();
    const assetManifest = assembly.artifacts.find((a) => a.id === 'UserDataExport.assets') as { file: string } | undefined;
    const files = (JSON.parse(readFileSync(assetManifest?.file ?? '', 'utf8')) as { files: Record<string, { source: { path: string } }> }).files;
    const staged = files[key.replace(/\.json$/, '')]?.source.path ?? '(no asset)';
    expect(readFileSync(join(assembly.directory, staged)).equals(readFileSync('state-machines/export.asl.json'))).toBe(true);
  });

  it('closes jobs of executions that fail, time out or are stopped outside the Catch', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.states'], 'detail-type': ['Step Functions Execution Status Change'], detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'] } },
    });
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
    expect(alarms).toHaveLength(3 + 9 * 2);
    expect(new Set(alarms.map((a) => a.Properties.MetricName))).toEqual(new Set(['ExecutionsFailed', 'ExecutionsTimedOut', 'DeliveryFailures', 'Errors', 'Throttles']));
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
    const writers = ['UserApi', 'SupportApi', 'Download', 'SendLink', 'MarkFailed', 'ExecutionEnded'];
    for (const [id, days] of environments(template)) expect(days, id).toBe(writers.some((w) => id.includes(w)) ? '400' : undefined);
    for (const [id, days] of environments(synth({ auditRetentionDays: '30' }).template)) if (writers.some((w) => id.includes(w))) expect(days, id).toBe('30');
    expect(() => parseAppConfig({ ...baseContext, auditRetentionDays: 0 })).toThrow(/auditRetentionDays/);
  });

  it('fills defaults and reads -c strings', () => {
    expect(parseAppConfig({ ...baseContext, retentionDays: '14', jwtIssuer: 'https://i.example/', jwtAudience: 'a, b' })).toMatchObject({
      retentionDays: 14,
      linkLifetimeHours: 72,
      cooldownHours: 24,
      jwtAudience: ['a', 'b'],
    });
  });
});
