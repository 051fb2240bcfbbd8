// What the deployed stack guarantees for the data, asserted on the synthesized template (the emulators cannot
// show KMS, lifecycle or bucket policy): encryption, public access, TLS, lifecycle, retention, least privilege
// derived from the data map, and the functions' runtime, logging and tracing.
import type { Template } from 'aws-cdk-lib/assertions';
import { Match } from 'aws-cdk-lib/assertions';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDataMap } from '../support/data-map-file.ts';
import { actionsOf, policyOf, resourcesOf, synth, type Statement } from '../support/stack-synth.ts';

let template: Template;
beforeAll(() => {
  ({ template } = synth());
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
  it('is on-demand, encrypted with the customer-managed key, recoverable, expiring by TTL, indexed by user and by open request, retained', () => {
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
          Match.objectLike({
            IndexName: 'openRequests',
            KeySchema: [
              { AttributeName: 'open', KeyType: 'HASH' },
              { AttributeName: 'dueBy', KeyType: 'RANGE' },
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
    // Nine, SweepExports, and CollectDatabaseSource: the demo map has database sources.
    expect(functions.length).toBe(11);
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

  it('never use AWS managed policies, and use "*" only for X-Ray, Step Functions log delivery and the database reader’s network interfaces', () => {
    const roles = Object.values(template.findResources('AWS::IAM::Role')) as { Properties: { ManagedPolicyArns?: unknown } }[];
    for (const role of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { PolicyDocument: { Statement: Statement[] } } }[];
    for (const statement of policies.flatMap((p) => p.Properties.PolicyDocument.Statement)) {
      if (resourcesOf(statement).includes('*')) {
        for (const action of actionsOf(statement))
          expect(action).toMatch(
            /^(xray:|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)|ec2:(CreateNetworkInterface|DescribeNetworkInterfaces|DescribeSubnets|DeleteNetworkInterface|AssignPrivateIpAddresses|UnassignPrivateIpAddresses)$)/,
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
