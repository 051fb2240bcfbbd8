// The table of IAM actions each AWS SDK command needs (local/iam/sdk-actions.ts), row by row against
// what the services document, including the calls that need more than their own action.
import { describe, expect, it } from 'vitest';
import { authorizationsFor, perObject, UnmappedCommandError, type KeyLookup } from '../../local/iam/sdk-actions.ts';

const EXPORT_KEY = 'arn:aws:kms:us-east-1:000000000000:key/export';
const SOURCE_KEY = 'arn:aws:kms:us-east-1:000000000000:key/source';
const keys: KeyLookup = {
  tableKey: (table) => (table === 'Jobs' ? EXPORT_KEY : undefined),
  objectKey: (bucket) => (bucket === 'exports' ? EXPORT_KEY : bucket === 'uploads' ? SOURCE_KEY : undefined),
  bucketKey: (bucket) => (bucket === 'exports' ? EXPORT_KEY : undefined),
  userPoolId: (id) => (id === 'local_7xK2' ? 'us-east-1_Synth3sized' : id),
};
const actions = (client: string, command: string, input: unknown) => authorizationsFor(client, command, input, keys);

describe('DynamoDB commands', () => {
  it('name the table, or the index a Query reads', () => {
    expect(actions('DynamoDBClient', 'QueryCommand', { TableName: 'Events', IndexName: 'byUser' })).toEqual([
      { action: 'dynamodb:Query', resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/Events/index/byUser' },
    ]);
    expect(actions('DynamoDBClient', 'GetItemCommand', { TableName: 'Events' })).toEqual([
      { action: 'dynamodb:GetItem', resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/Events' },
    ]);
  });

  it('need kms:Decrypt on a table under a customer-managed key', () => {
    expect(actions('DynamoDBClient', 'UpdateItemCommand', { TableName: 'Jobs' })).toEqual([
      { action: 'dynamodb:UpdateItem', resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/Jobs' },
      { action: 'kms:Decrypt', resource: EXPORT_KEY },
    ]);
  });
});

describe('S3 commands', () => {
  it('ListObjectsV2 is s3:ListBucket on the bucket, with the prefix as s3:prefix', () => {
    expect(actions('S3Client', 'ListObjectsV2Command', { Bucket: 'uploads', Prefix: 'users/u-1/' })).toEqual([
      { action: 's3:ListBucket', resource: 'arn:aws:s3:::uploads', context: { 's3:prefix': 'users/u-1/' } },
    ]);
  });

  it('a put under SSE-KMS needs kms:GenerateDataKey, and carries its encryption headers for the bucket policy', () => {
    expect(actions('S3Client', 'PutObjectCommand', { Bucket: 'exports', Key: 'a', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: EXPORT_KEY })).toEqual([
      {
        action: 's3:PutObject',
        resource: 'arn:aws:s3:::exports/a',
        context: { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': EXPORT_KEY },
      },
      { action: 'kms:GenerateDataKey', resource: EXPORT_KEY },
    ]);
  });

  it('a multipart upload is s3:PutObject throughout: a data key to start, kms:Decrypt for each part', () => {
    expect(actions('S3Client', 'CreateMultipartUploadCommand', { Bucket: 'exports', Key: 'a' }).map((a) => a.action)).toEqual(['s3:PutObject', 'kms:GenerateDataKey']);
    expect(actions('S3Client', 'UploadPartCommand', { Bucket: 'exports', Key: 'a' })).toEqual([
      { action: 's3:PutObject', resource: 'arn:aws:s3:::exports/a' },
      { action: 'kms:Decrypt', resource: EXPORT_KEY },
    ]);
    expect(actions('S3Client', 'CompleteMultipartUploadCommand', { Bucket: 'exports', Key: 'a' }).map((a) => a.action)).toEqual(['s3:PutObject']);
    expect(actions('S3Client', 'AbortMultipartUploadCommand', { Bucket: 'exports', Key: 'a' }).map((a) => a.action)).toEqual(['s3:AbortMultipartUpload']);
  });

  it('GetObject of an SSE-KMS object needs kms:Decrypt on its key; a plain object does not', () => {
    expect(actions('S3Client', 'GetObjectCommand', { Bucket: 'uploads', Key: 'x' })).toEqual([
      { action: 's3:GetObject', resource: 'arn:aws:s3:::uploads/x' },
      { action: 'kms:Decrypt', resource: SOURCE_KEY },
    ]);
    expect(actions('S3Client', 'GetObjectCommand', { Bucket: 'plain', Key: 'x' })).toEqual([{ action: 's3:GetObject', resource: 'arn:aws:s3:::plain/x' }]);
  });

  it('CopyObject reads the source and writes the target, and needs tagging permissions unless tags are replaced', () => {
    const copy = { Bucket: 'exports', Key: 'staging/1', CopySource: 'uploads/users/u-1/caf%C3%A9.png', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: EXPORT_KEY };
    expect(actions('S3Client', 'CopyObjectCommand', copy).map((a) => `${a.action} ${String(a.resource)}`)).toEqual([
      's3:GetObject arn:aws:s3:::uploads/users/u-1/café.png',
      `kms:Decrypt ${SOURCE_KEY}`,
      's3:PutObject arn:aws:s3:::exports/staging/1',
      `kms:GenerateDataKey ${EXPORT_KEY}`,
      's3:GetObjectTagging arn:aws:s3:::uploads/users/u-1/café.png',
      's3:PutObjectTagging arn:aws:s3:::exports/staging/1',
    ]);
    const replaced = actions('S3Client', 'CopyObjectCommand', { ...copy, TaggingDirective: 'REPLACE' }).map((a) => a.action);
    expect(replaced).toEqual(['s3:GetObject', 'kms:Decrypt', 's3:PutObject', 'kms:GenerateDataKey']);
    expect(actions('S3Client', 'CopyObjectCommand', { ...copy, TaggingDirective: 'REPLACE', Tagging: 'a=b' }).map((a) => a.action)).toContain('s3:PutObjectTagging');
  });

  it('UploadPartCopy reads the source range and writes a part of the target', () => {
    const part = { Bucket: 'exports', Key: 'staging/1', UploadId: 'u', PartNumber: 2, CopySource: 'uploads/users/u-1/big.mov', CopySourceRange: 'bytes=0-9' };
    expect(actions('S3Client', 'UploadPartCopyCommand', part).map((a) => `${a.action} ${String(a.resource)}`)).toEqual([
      's3:GetObject arn:aws:s3:::uploads/users/u-1/big.mov',
      `kms:Decrypt ${SOURCE_KEY}`,
      's3:PutObject arn:aws:s3:::exports/staging/1',
      `kms:Decrypt ${EXPORT_KEY}`,
    ]);
  });

  it('DeleteObjects is authorized key by key, as s3:DeleteObject', () => {
    expect(perObject({ Bucket: 'exports', Delete: { Objects: [{ Key: 'a' }, { Key: 'b/c' }] } })).toEqual([
      { key: 'a', authorization: { action: 's3:DeleteObject', resource: 'arn:aws:s3:::exports/a' } },
      { key: 'b/c', authorization: { action: 's3:DeleteObject', resource: 'arn:aws:s3:::exports/b/c' } },
    ]);
  });
});

describe('SES, KMS, Lambda and Step Functions commands', () => {
  it('SendEmail is ses:SendEmail on the sending identity, the address or its domain, with ses:FromAddress', () => {
    expect(actions('SESv2Client', 'SendEmailCommand', { FromEmailAddress: 'privacy@example.com' })).toEqual([
      {
        action: 'ses:SendEmail',
        resource: ['arn:aws:ses:us-east-1:000000000000:identity/privacy@example.com', 'arn:aws:ses:us-east-1:000000000000:identity/example.com'],
        context: { 'ses:FromAddress': 'privacy@example.com' },
      },
    ]);
  });

  it('GenerateMac and VerifyMac name the key and the MAC algorithm', () => {
    expect(actions('KMSClient', 'GenerateMacCommand', { KeyId: EXPORT_KEY, MacAlgorithm: 'HMAC_SHA_256' })).toEqual([
      { action: 'kms:GenerateMac', resource: EXPORT_KEY, context: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } },
    ]);
    expect(actions('KMSClient', 'VerifyMacCommand', { KeyId: EXPORT_KEY, MacAlgorithm: 'HMAC_SHA_256' }).map((a) => a.action)).toEqual(['kms:VerifyMac']);
  });

  it('a Task invoking its function is lambda:InvokeFunction on the function', () => {
    const fn = 'arn:aws:lambda:us-east-1:000000000000:function:CollectSource';
    expect(actions('LambdaClient', 'InvokeCommand', { FunctionName: fn })).toEqual([{ action: 'lambda:InvokeFunction', resource: fn }]);
  });

  it('StartExecution is on the state machine, StopExecution on the execution', () => {
    const machine = 'arn:aws:states:us-east-1:000000000000:stateMachine:M';
    expect(actions('SFNClient', 'StartExecutionCommand', { stateMachineArn: machine, name: 'e1' })).toEqual([{ action: 'states:StartExecution', resource: machine }]);
    expect(actions('SFNClient', 'StopExecutionCommand', { executionArn: `${machine.replace('stateMachine', 'execution')}:e1` })).toEqual([
      { action: 'states:StopExecution', resource: 'arn:aws:states:us-east-1:000000000000:execution:M:e1' },
    ]);
  });
});

it('refuses a command it has no row for, naming the table to extend', () => {
  expect(() => actions('S3Client', 'PutBucketPolicyCommand', {})).toThrow(UnmappedCommandError);
  expect(() => actions('S3Client', 'PutBucketPolicyCommand', {})).toThrow(
    /S3Client PutBucketPolicyCommand has no IAM mapping; add the actions it needs to SDK_ACTIONS in local\/iam\/sdk-actions.ts/,
  );
});

describe('Cognito commands', () => {
  it.each(['AdminGetUser', 'ListUsers', 'AdminListGroupsForUser', 'AdminListDevices', 'AdminListUserAuthEvents'])(
    '%s is cognito-idp:%s on the pool it names, by the id the template knows it by',
    (command) => {
      expect(actions('CognitoIdentityProviderClient', `${command}Command`, { UserPoolId: 'local_7xK2', Username: 'ana' })).toEqual([
        { action: `cognito-idp:${command}`, resource: 'arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_Synth3sized' },
      ]);
    },
  );

  it('keeps a pool id it does not know as it is', () => {
    expect(actions('CognitoIdentityProviderClient', 'AdminGetUserCommand', { UserPoolId: 'local_other', Username: 'ana' })).toEqual([
      { action: 'cognito-idp:AdminGetUser', resource: 'arn:aws:cognito-idp:us-east-1:000000000000:userpool/local_other' },
    ]);
  });

  it('has no row for a call the collector does not make (it is refused)', () => {
    expect(() => actions('CognitoIdentityProviderClient', 'AdminDeleteUserCommand', { UserPoolId: 'local_7xK2' })).toThrow(UnmappedCommandError);
  });
});
