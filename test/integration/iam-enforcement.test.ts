// The embedded stack refuses what AWS would refuse: a grant taken out of the synthesized template makes
// the export fail with AccessDenied naming the function, the action and the resource; the export
// bucket's policy refuses a put under another key; DeleteObjects refuses keys one by one, and the code
// notices; a command nobody mapped to IAM actions is refused rather than let through.
import { GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CleanupError } from '../../lambdas/core/platform/errors.ts';
import { deleteObjects } from '../../lambdas/core/storage/export-bucket.ts';
import { EmbeddedStack, LOCAL_SENDER } from '../../local/embedded-stack.ts';
import { LOCAL_DATA_KEY_ARN } from '../../local/iam/local-resources.ts';
import { synthesize } from '../../local/iam/stack-template.ts';
import { writeDataMap } from '../support/data-map-file.ts';
import { withoutGrant } from '../support/template-edits.ts';

const dir = mkdtempSync(join(tmpdir(), 'iam-'));
const dataMapFile = writeDataMap(dir, [
  { id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' },
  { id: 'files', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
]);

let stack: EmbeddedStack;

beforeAll(async () => {
  const synthesized = await synthesize({ dataMapFile, senderEmail: LOCAL_SENDER });
  const narrowed = withoutGrant(withoutGrant(synthesized, 'CollectSource', 's3:GetObject', 'uploads/users/'), 'BundleArchive', 's3:DeleteObject', '/archives/');
  stack = await EmbeddedStack.start({ dataMapFile, retryIntervalMs: 0, stackTemplate: narrowed });
  await stack.loadSeed({
    tables: { Users: [{ userId: { S: 'alice' }, email: { S: 'alice@example.com' } }] },
    schemas: {},
    objects: [{ bucket: 'uploads', key: 'users/alice/scan.pdf', base64: Buffer.from('%PDF-1.7').toString('base64') }],
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('IAM on the embedded stack', () => {
  it('fails the export when CollectSource loses s3:GetObject on the source prefix, naming function, action and resource', async () => {
    const started = await stack.startExport({ userId: 'alice', formats: ['json'], actor: { id: 'test', role: 'operator' } });
    const { job } = await stack.waitForExport(started.exportId);
    expect(job.status).toBe('FAILED');
    expect(job.failureReason).toContain('SourceUnavailableError');
    expect(job.failureReason).toContain('(AccessDenied)');
    expect(job.failureReason).toContain('assumed-role/');
    expect(job.failureReason).toContain('/CollectSource is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::uploads/users/alice/scan.pdf');
    expect(stack.permissions.decisions).toContainEqual(
      expect.objectContaining({ functionName: 'CollectSource', action: 's3:GetObject', resource: 'arn:aws:s3:::uploads/users/alice/scan.pdf', allowed: false }),
    );
  });

  it('answers a refused call with the service’s own AccessDenied error, before anything is sent', async () => {
    const collect = stack.functionRuntime('CollectSource').client(S3Client);
    const refused = await collect.send(new PutObjectCommand({ Bucket: stack.exportBucket, Key: 'archives/x/not-mine.zip', Body: 'x' })).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } });
    expect((refused as Error).message).toMatch(
      /CollectSource is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::user-data-exports-local\/archives\/x\/not-mine\.zip because no identity-based policy allows/,
    );
  });

  it('applies the export bucket’s policy: a put naming another key is refused even where the role allows the put', async () => {
    const collect = stack.functionRuntime('CollectSource').client(S3Client);
    const put = (extra: object) => collect.send(new PutObjectCommand({ Bucket: stack.exportBucket, Key: 'staging/x/part.ndjson', Body: '{}\n', ...extra }));
    await expect(put({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'arn:aws:kms:us-east-1:000000000000:key/someone-elses' })).rejects.toThrow(
      /explicit deny in a resource-based policy/,
    );
    await expect(put({ ServerSideEncryption: 'AES256' })).rejects.toThrow(/explicit deny in a resource-based policy/);
    await expect(put({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: LOCAL_DATA_KEY_ARN })).resolves.toBeDefined();
    // No header at all: the bucket's default encryption (the data key) applies, as for every upload part.
    await expect(put({})).resolves.toBeDefined();
  });

  it('refuses DeleteObjects key by key, as S3 does, and the cleanup reports what it could not remove', async () => {
    const key = 'archives/e-1/user-data-export-e-1.zip';
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.exportBucket, Key: key, Body: 'PK' }));
    const bundle = stack.functionRuntime('BundleArchive').client(S3Client);
    const failure = await deleteObjects(bundle, stack.exportBucket, [key]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(CleanupError);
    expect((failure as Error).message).toContain(`1 of 1 objects could not be deleted from the export bucket, first ${key} (AccessDenied:`);
    // It is still there: nothing was removed behind the refusal.
    const kept = await stack.s3.send(new GetObjectCommand({ Bucket: stack.exportBucket, Key: key }));
    expect(await kept.Body?.transformToString()).toBe('PK');
  });

  it('refuses a command that has no IAM mapping, naming the table to extend', async () => {
    const bundle = stack.functionRuntime('BundleArchive').client(S3Client);
    await expect(bundle.send(new HeadBucketCommand({ Bucket: stack.exportBucket }))).rejects.toThrow(/S3Client HeadBucketCommand has no IAM mapping/);
  });
});
