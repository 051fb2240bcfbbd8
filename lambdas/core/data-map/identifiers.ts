// The shapes of the ids that reach keys, prefixes and paths. A user id is placed into DynamoDB keys and
// S3 prefixes, so it may not carry "/" (which would let "u-1/../u-2" wander) or placeholders.
import { randomUUID } from 'node:crypto';
import * as z from 'zod';

export const userIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  // eslint-disable-next-line no-control-regex
  .refine((id) => !/[\u0000-\u001f\u007f/{}\\]/.test(id), 'must not contain "/", "\\", braces or control characters')
  .refine((id) => id !== '.' && id !== '..', 'must not be "." or ".."');

/** Export ids double as Step Functions execution names (80 characters of [A-Za-z0-9-_]). */
export const exportIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,80}$/, 'must be an export id');

export const newExportId = (): string => randomUUID();

export const FORMATS = ['json', 'csv'] as const;
export type Format = (typeof FORMATS)[number];
export const formatsSchema = z.array(z.enum(FORMATS)).min(1).max(2);

/** The `--format json|csv|both` spelling used by the demo, CLI and API. */
export function formatsFromChoice(choice: 'json' | 'csv' | 'both'): Format[] {
  return choice === 'both' ? ['json', 'csv'] : [choice];
}
