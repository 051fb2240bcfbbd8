// Where archives live: a bucket encrypted with a customer-managed key, closed to the public, reachable
// only over TLS, logged, and emptied by lifecycle (archives after the retention, staging after a day).
// The grant helpers set the variables a handler reads together with exactly the access they imply.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { acknowledgeWildcardResource } from './nag.ts';
import { Construct } from 'constructs';
import { ARCHIVE_ROOT, STAGING_ROOT } from '../lambdas/core/storage/object-keys.ts';

export interface ExportStorageProps {
  retentionDays: number;
}
import type { EnvFunction } from './env-function.ts';

export class ExportStorage extends Construct {
  /** Encrypts archives, staging parts and the jobs table. */
  readonly dataKey: Key;
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: ExportStorageProps) {
    super(scope, id);
    this.dataKey = new Key(this, 'DataKey', {
      description: 'user-data-export: encrypts export archives, staging parts and export jobs',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Server access logs cannot be written to an SSE-KMS bucket; SSE-S3 is what S3 supports there.
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new Bucket(this, 'Archives', {
      encryption: BucketEncryption.KMS,
      encryptionKey: this.dataKey,
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'archives-bucket/',
      lifecycleRules: [
        { id: 'expire-archives', prefix: ARCHIVE_ROOT, expiration: Duration.days(props.retentionDays) },
        { id: 'expire-staging', prefix: STAGING_ROOT, expiration: Duration.days(1) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      // It holds users' personal data: never deleted with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Deny puts that ask for any other encryption than our key. Only where the request names one: an
    // UploadPart or CompleteMultipartUpload carries no encryption header (the upload's own applies), and
    // a put without one gets the bucket's default, our key. "StringNotEqualsIfExists" would not do: IAM
    // evaluates an IfExists condition as true when the key is absent, so that Deny refused every part of
    // every multipart upload (the local IAM evaluator found it). No object here is ever stored
    // unencrypted or under another key either way.
    const denyPutsThatName = (sid: string, key: string, value: string) =>
      this.bucket.addToResourcePolicy(
        new PolicyStatement({
          sid,
          effect: Effect.DENY,
          principals: [new AnyPrincipal()],
          actions: ['s3:PutObject'],
          resources: [this.bucket.arnForObjects('*')],
          conditions: { StringNotEquals: { [key]: value }, Null: { [key]: 'false' } },
        }),
      );
    denyPutsThatName('DenyOtherEncryption', 's3:x-amz-server-side-encryption', 'aws:kms');
    denyPutsThatName('DenyOtherKmsKey', 's3:x-amz-server-side-encryption-aws-kms-key-id', this.dataKey.keyArn);
  }

  private configure(fn: EnvFunction): void {
    fn.addEnvironment('EXPORT_BUCKET', this.bucket.bucketName);
    fn.addEnvironment('EXPORT_KMS_KEY_ID', this.dataKey.keyArn);
  }

  private grantPrefix(fn: EnvFunction, prefix: string, actions: string[]): void {
    fn.addToRolePolicy(new PolicyStatement({ actions, resources: [this.bucket.arnForObjects(`${prefix}*`)] }));
  }

  private grantList(fn: EnvFunction, prefix: string): void {
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } } }));
  }

  /** CollectSource: writes staging parts and copies; removes them again if the export ended meanwhile. */
  grantStagingWrite(fn: EnvFunction, options: { readBack: boolean }): void {
    this.configure(fn);
    // GetObject, for a collector that reads back what it staged: the ETags of a large object's copy that a call left under way (s3/part-copy.ts).
    this.grantPrefix(fn, STAGING_ROOT, ['s3:PutObject', ...(options.readBack ? ['s3:GetObject'] : []), 's3:AbortMultipartUpload', 's3:DeleteObject']);
    this.grantList(fn, STAGING_ROOT);
    this.grantKey(fn);
    this.acknowledgePrefixes(fn, [STAGING_ROOT]);
  }

  /** SSE-KMS puts need a data key; multipart uploads and reads need to decrypt it. No more. */
  private grantKey(fn: EnvFunction): void {
    this.dataKey.grant(fn, 'kms:GenerateDataKey', 'kms:Decrypt');
  }

  /** Objects of one export live under a prefix; IAM can only name them with a wildcard. */
  private acknowledgePrefixes(fn: EnvFunction, prefixes: string[]): void {
    for (const prefix of prefixes) {
      acknowledgeWildcardResource(
        fn.role ?? fn,
        this.bucket.arnForObjects(`${prefix}*`),
        `Each export writes and reads its own objects under ${prefix}<exportId>/; their keys do not exist before the export runs.`,
      );
    }
  }

  /**
   * BundleArchive: reads staging, writes the archive, removes staging. DeleteObject under archives/ is
   * how a split archive that fails half-way removes the parts it already completed.
   */
  grantBundle(fn: EnvFunction): void {
    this.configure(fn);
    // PutObject on staging: the progress a call saves when its time budget ends the part.
    this.grantPrefix(fn, STAGING_ROOT, ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']);
    this.grantPrefix(fn, ARCHIVE_ROOT, ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject']);
    this.grantList(fn, STAGING_ROOT);
    this.grantKey(fn);
    this.acknowledgePrefixes(fn, [STAGING_ROOT, ARCHIVE_ROOT]);
  }

  /** MarkFailed and ExecutionEnded: remove an ended export's staging, and the parts of an archive never delivered. */
  grantCleanup(fn: EnvFunction): void {
    this.configure(fn);
    this.grantPrefix(fn, STAGING_ROOT, ['s3:DeleteObject']);
    this.grantPrefix(fn, ARCHIVE_ROOT, ['s3:DeleteObject']);
    this.grantList(fn, STAGING_ROOT);
    this.grantList(fn, ARCHIVE_ROOT);
    this.acknowledgePrefixes(fn, [STAGING_ROOT, ARCHIVE_ROOT]);
  }

  /** Download: signs short-lived GETs of archives (the URL carries this role's permission). */
  grantArchiveRead(fn: EnvFunction): void {
    this.configure(fn);
    this.grantPrefix(fn, ARCHIVE_ROOT, ['s3:GetObject']);
    this.dataKey.grant(fn, 'kms:Decrypt');
    this.acknowledgePrefixes(fn, [ARCHIVE_ROOT]);
  }
}
