// Which IAM authorizations an AWS SDK command needs: the table the embedded stack's enforcement reads
// for every call a handler makes. Each row is what the service's documentation says it checks, including
// the calls that need more than one action (CopyObject, SSE-KMS, DynamoDB tables under a customer key).
// A command missing here is refused: a new call must be added with its actions before it can run.
import type { GenerateMacCommandInput, VerifyMacCommandInput } from '@aws-sdk/client-kms';
import type {
  AbortMultipartUploadCommandInput,
  CompleteMultipartUploadCommandInput,
  CopyObjectCommandInput,
  CreateMultipartUploadCommandInput,
  DeleteObjectCommandInput,
  GetObjectCommandInput,
  HeadObjectCommandInput,
  ListObjectsV2CommandInput,
  PutObjectCommandInput,
  UploadPartCommandInput,
  UploadPartCopyCommandInput,
} from '@aws-sdk/client-s3';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import type { StartExecutionCommandInput, StopExecutionCommandInput } from '@aws-sdk/client-sfn';
import { localArns } from './local-resources.ts';

export interface Authorization {
  action: string;
  /** The resource ARN; several mean the request is authorized against whichever one applies (SES identities). */
  resource: string | string[];
  context?: Record<string, string | string[]>;
}

export interface KeyLookup {
  /** The customer-managed key a DynamoDB table is encrypted with, if any. */
  tableKey(table: string): string | undefined;
  /** The key SSE-KMS objects at this bucket and key are encrypted with, if any. */
  objectKey(bucket: string, key: string): string | undefined;
  /** The key a put into this bucket is encrypted with when the request names none (default encryption). */
  bucketKey(bucket: string): string | undefined;
  /** The id the template knows a user pool by, for the id a request names (the stand-in's own, locally); an unknown id as it is. */
  userPoolId(id: string): string;
}

type Rule = (input: unknown, keys: KeyLookup) => Authorization[];
/** A row reads its own command's input type, as the SDK declares it. */
const row = <I>(rule: (input: I, keys: KeyLookup) => Authorization[]): Rule => rule as Rule;

const objectArn = (bucket: string | undefined, key: string | undefined) => `${localArns.bucket(bucket ?? '')}/${key ?? ''}`;

/** DynamoDB decrypts a table's key as the caller, so a table under a customer-managed key needs kms:Decrypt. */
function dynamodb(action: string, input: { TableName?: string; IndexName?: string }, keys: KeyLookup): Authorization[] {
  const table = localArns.table(input.TableName ?? '');
  const key = keys.tableKey(input.TableName ?? '');
  return [{ action: `dynamodb:${action}`, resource: input.IndexName ? `${table}/index/${input.IndexName}` : table }, ...(key ? [{ action: 'kms:Decrypt', resource: key }] : [])];
}

/** A put's encryption headers, as the bucket policy sees them. */
function encryptionContext(input: { ServerSideEncryption?: string; SSEKMSKeyId?: string }): Record<string, string> {
  return {
    ...(input.ServerSideEncryption ? { 's3:x-amz-server-side-encryption': input.ServerSideEncryption } : {}),
    ...(input.SSEKMSKeyId ? { 's3:x-amz-server-side-encryption-aws-kms-key-id': input.SSEKMSKeyId } : {}),
  };
}

/** The key an object written by this request is encrypted with: the one it names, or the bucket's default. */
const putKey = (input: { Bucket?: string; SSEKMSKeyId?: string }, keys: KeyLookup) => input.SSEKMSKeyId ?? keys.bucketKey(input.Bucket ?? '');

const kmsFor = (action: string, key: string | undefined): Authorization[] => (key ? [{ action, resource: key }] : []);

/** "bucket/key" of CopySource, URL-encoded as the SDK sends it. */
function copySource(source: string | undefined): { bucket: string; key: string } {
  const path = decodeURIComponent((source ?? '').replace(/^\//, '').split('?')[0] ?? '');
  const slash = path.indexOf('/');
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

export const SDK_ACTIONS: Record<string, Record<string, Rule>> = {
  DynamoDBClient: {
    GetItemCommand: row<{ TableName?: string; IndexName?: string }>((input, keys) => dynamodb('GetItem', input, keys)),
    PutItemCommand: row<{ TableName?: string; IndexName?: string }>((input, keys) => dynamodb('PutItem', input, keys)),
    UpdateItemCommand: row<{ TableName?: string; IndexName?: string }>((input, keys) => dynamodb('UpdateItem', input, keys)),
    DeleteItemCommand: row<{ TableName?: string; IndexName?: string }>((input, keys) => dynamodb('DeleteItem', input, keys)),
    QueryCommand: row<{ TableName?: string; IndexName?: string }>((input, keys) => dynamodb('Query', input, keys)),
  },
  S3Client: {
    PutObjectCommand: row<PutObjectCommandInput>((input, keys) => [
      { action: 's3:PutObject', resource: objectArn(input.Bucket, input.Key), context: encryptionContext(input) },
      ...kmsFor('kms:GenerateDataKey', putKey(input, keys)),
    ]),
    // A multipart upload under SSE-KMS: a data key at the start, decrypting it for every part.
    CreateMultipartUploadCommand: row<CreateMultipartUploadCommandInput>((input, keys) => [
      { action: 's3:PutObject', resource: objectArn(input.Bucket, input.Key), context: encryptionContext(input) },
      ...kmsFor('kms:GenerateDataKey', putKey(input, keys)),
    ]),
    UploadPartCommand: row<UploadPartCommandInput>((input, keys) => [
      { action: 's3:PutObject', resource: objectArn(input.Bucket, input.Key) },
      ...kmsFor('kms:Decrypt', keys.bucketKey(input.Bucket ?? '')),
    ]),
    CompleteMultipartUploadCommand: row<CompleteMultipartUploadCommandInput>((input) => [{ action: 's3:PutObject', resource: objectArn(input.Bucket, input.Key) }]),
    AbortMultipartUploadCommand: row<AbortMultipartUploadCommandInput>((input) => [{ action: 's3:AbortMultipartUpload', resource: objectArn(input.Bucket, input.Key) }]),
    GetObjectCommand: row<GetObjectCommandInput>((input, keys) => [
      { action: 's3:GetObject', resource: objectArn(input.Bucket, input.Key) },
      ...kmsFor('kms:Decrypt', keys.objectKey(input.Bucket ?? '', input.Key ?? '')),
    ]),
    HeadObjectCommand: row<HeadObjectCommandInput>((input) => [{ action: 's3:GetObject', resource: objectArn(input.Bucket, input.Key) }]),
    ListObjectsV2Command: row<ListObjectsV2CommandInput>((input) => [
      { action: 's3:ListBucket', resource: localArns.bucket(input.Bucket ?? ''), context: { 's3:prefix': input.Prefix ?? '' } },
    ]),
    DeleteObjectCommand: row<DeleteObjectCommandInput>((input) => [{ action: 's3:DeleteObject', resource: objectArn(input.Bucket, input.Key) }]),
    // Each key of a DeleteObjects request is authorized on its own; see perObject below.
    DeleteObjectsCommand: () => [],
    // Read the source, write the target; tags are copied unless TaggingDirective is REPLACE, and copying
    // them needs tagging permissions on both sides (any object may carry tags).
    CopyObjectCommand: row<CopyObjectCommandInput>((input, keys) => {
      const source = copySource(input.CopySource);
      const putTags = { action: 's3:PutObjectTagging', resource: objectArn(input.Bucket, input.Key) };
      const tagging =
        input.TaggingDirective === 'REPLACE' ? (input.Tagging ? [putTags] : []) : [{ action: 's3:GetObjectTagging', resource: objectArn(source.bucket, source.key) }, putTags];
      return [
        { action: 's3:GetObject', resource: objectArn(source.bucket, source.key) },
        ...kmsFor('kms:Decrypt', keys.objectKey(source.bucket, source.key)),
        { action: 's3:PutObject', resource: objectArn(input.Bucket, input.Key), context: encryptionContext(input) },
        ...kmsFor('kms:GenerateDataKey', putKey(input, keys)),
        ...tagging,
      ];
    }),
    // One part of a multipart copy: the source's range is read, the upload written (its data key decrypted).
    UploadPartCopyCommand: row<UploadPartCopyCommandInput>((input, keys) => {
      const source = copySource(input.CopySource);
      return [
        { action: 's3:GetObject', resource: objectArn(source.bucket, source.key) },
        ...kmsFor('kms:Decrypt', keys.objectKey(source.bucket, source.key)),
        { action: 's3:PutObject', resource: objectArn(input.Bucket, input.Key) },
        ...kmsFor('kms:Decrypt', keys.bucketKey(input.Bucket ?? '')),
      ];
    }),
  },
  SESv2Client: {
    // SES authorizes against the verified identity the mail is sent from: the address, or its domain.
    SendEmailCommand: row<SendEmailCommandInput>((input) => {
      const from = input.FromEmailAddress ?? '';
      const domain = from.split('@')[1] ?? from;
      return [{ action: 'ses:SendEmail', resource: [localArns.sesIdentity(from), localArns.sesIdentity(domain)], context: { 'ses:FromAddress': from } }];
    }),
  },
  KMSClient: {
    GenerateMacCommand: row<GenerateMacCommandInput>((input) => [
      { action: 'kms:GenerateMac', resource: input.KeyId ?? '', context: { 'kms:MacAlgorithm': input.MacAlgorithm ?? '' } },
    ]),
    VerifyMacCommand: row<VerifyMacCommandInput>((input) => [{ action: 'kms:VerifyMac', resource: input.KeyId ?? '', context: { 'kms:MacAlgorithm': input.MacAlgorithm ?? '' } }]),
  },
  // Cognito authorizes each admin call on the user pool it names.
  CognitoIdentityProviderClient: Object.fromEntries(
    ['AdminGetUser', 'ListUsers', 'AdminListGroupsForUser', 'AdminListDevices', 'AdminListUserAuthEvents'].map((action) => [
      `${action}Command`,
      row<{ UserPoolId?: string }>((input, keys) => [{ action: `cognito-idp:${action}`, resource: localArns.userPool(keys.userPoolId(input.UserPoolId ?? '')) }]),
    ]),
  ),
  // Step Functions invoking a Task's function, as the state machine's role.
  LambdaClient: {
    InvokeCommand: row<{ FunctionName?: string }>((input) => [{ action: 'lambda:InvokeFunction', resource: input.FunctionName ?? '' }]),
  },
  SFNClient: {
    StartExecutionCommand: row<StartExecutionCommandInput>((input) => [{ action: 'states:StartExecution', resource: input.stateMachineArn ?? '' }]),
    StopExecutionCommand: row<StopExecutionCommandInput>((input) => [{ action: 'states:StopExecution', resource: input.executionArn ?? '' }]),
  },
};

/** DeleteObjects: one s3:DeleteObject per key; S3 refuses keys one by one and still answers 200. */
export function perObject(input: { Bucket: string; Delete?: { Objects?: { Key?: string }[] } }): { key: string; authorization: Authorization }[] {
  return (input.Delete?.Objects ?? []).map((o) => ({ key: o.Key ?? '', authorization: { action: 's3:DeleteObject', resource: objectArn(input.Bucket, o.Key ?? '') } }));
}

export class UnmappedCommandError extends Error {
  override name = 'UnmappedCommandError';
}

/** The authorizations a command needs; a command with no row is an error naming the table to extend. */
export function authorizationsFor(client: string, command: string, input: unknown, keys: KeyLookup): Authorization[] {
  const rule = SDK_ACTIONS[client]?.[command];
  if (!rule) {
    throw new UnmappedCommandError(`${client} ${command} has no IAM mapping; add the actions it needs to SDK_ACTIONS in local/iam/sdk-actions.ts.`);
  }
  return rule(input, keys);
}
