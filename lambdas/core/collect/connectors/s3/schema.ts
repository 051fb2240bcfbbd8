// An S3 source: the files under one user's prefix of a bucket, copied into the archive as they are.
import * as z from 'zod';
import { commonFields, connectorSchema, keyTemplate, kmsKeyArn, PLACEHOLDER } from '../../../data-map/connector.ts';

/** A prefix template as an IAM pattern: users/{userId}/attachments/ → users/*\/attachments/ */
export const prefixPattern = (template: string) => template.replaceAll(PLACEHOLDER, '*');

const source = z
  .object({
    ...commonFields,
    type: z.literal('s3'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
    prefix: keyTemplate.refine(
      (p) => p.endsWith('/') && p.indexOf(PLACEHOLDER) + PLACEHOLDER.length < p.length && p[p.indexOf(PLACEHOLDER) + PLACEHOLDER.length] === '/',
      `must have "/" right after ${PLACEHOLDER} and end with "/", so user "u-1" never matches "u-10"`,
    ),
    kmsKeyArn: kmsKeyArn.optional(),
  })
  .strict();

export type S3Source = z.infer<typeof source>;

export const s3Connector = connectorSchema({
  type: 's3',
  source,
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
});
