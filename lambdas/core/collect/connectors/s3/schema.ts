// An S3 source: the files under one user's prefix of a bucket, copied into the archive as they are.
import * as z from 'zod';
import { budgetsOf, commonFields, connectorSchema, keyTemplate, kmsKeyArn, perSecond, PLACEHOLDER } from '../../../data-map/connector.ts';

const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name');

/** A prefix template as an IAM pattern: users/{userId}/attachments/ → users/*\/attachments/ */
export const prefixPattern = (template: string) => template.replaceAll(PLACEHOLDER, '*');

const source = z
  .object({
    ...commonFields,
    type: z.literal('s3'),
    bucket: bucketName,
    prefix: keyTemplate.refine(
      (p) => p.endsWith('/') && p.indexOf(PLACEHOLDER) + PLACEHOLDER.length < p.length && p[p.indexOf(PLACEHOLDER) + PLACEHOLDER.length] === '/',
      `must have "/" right after ${PLACEHOLDER} and end with "/", so user "u-1" never matches "u-10"`,
    ),
    kmsKeyArn: kmsKeyArn.optional(),
    /** Requests per second (listings and copies) this source may make, across every export at once. */
    maxRequestsPerSecond: perSecond.optional(),
  })
  .strict();

/** A bucket several sources read: a request budget they share (`buckets.<name>` at the top of the map). */
const bucket = z.object({ maxRequestsPerSecond: perSecond.optional() }).strict();
export type S3Bucket = z.infer<typeof bucket>;

export type S3Source = z.infer<typeof source>;

export const s3Connector = connectorSchema({
  type: 's3',
  source,
  mapFields: { buckets: z.record(bucketName, bucket) },
  output: 'files',
  keyColumns: () => [],
  columnOrder: 'sorted',
  collector: 'CollectSource',
  readsStaging: true,
  grants(s, _map, { partition }) {
    const pattern = prefixPattern(s.prefix);
    const objects = `arn:${partition}:s3:::${s.bucket}/${pattern}*`;
    return [
      { actions: ['s3:ListBucket'], resources: [`arn:${partition}:s3:::${s.bucket}`], conditions: { StringLike: { 's3:prefix': [`${pattern}*`] } } },
      {
        actions: ['s3:GetObject'],
        resources: [objects],
        wildcardReason: `Source "${s.id}" keeps each user's files under ${s.prefix}; the collector reads one user's prefix per export.`,
      },
      ...(s.kmsKeyArn ? [{ actions: ['kms:Decrypt'], resources: [s.kmsKeyArn] }] : []),
    ];
  },
  readBudgets: (s, map) =>
    budgetsOf([
      [`source:${s.id}`, s.maxRequestsPerSecond],
      [`s3:${s.bucket}`, (map.buckets as Record<string, S3Bucket> | undefined)?.[s.bucket]?.maxRequestsPerSecond],
    ]),
  budgetUnit: 'requests',
});
