// Configuration from environment variables, parsed once per cold start by a zod schema. A missing or
// malformed variable stops the function with one error that names every problem.
import * as z from 'zod';
import { ConfigError } from './errors.ts';

export type Env = Record<string, string | undefined>;

export function parseEnv<T extends z.ZodRawShape>(shape: T, env: Env): z.infer<z.ZodObject<T>> {
  const result = z.object(shape).safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '?');
    return env[name] === undefined ? `${name} is not set` : `${name} ${issue.message}`;
  });
  throw new ConfigError(`The function's configuration is incomplete: ${problems.join('; ')}.`);
}

const positiveNumber = z.coerce.number().positive('must be a positive number');

/**
 * BundleArchive writes this long per call, then finishes its part and saves its progress: well inside
 * Lambda's 900 s, with the safety margin for a central directory, the save and the last files.
 */
export const DEFAULT_BUNDLE_BUDGET_SECONDS = 780;

/** Every variable any handler reads; each handler picks the ones it needs. */
export const ENV = {
  JOBS_TABLE: z.string().min(1),
  EXPORT_BUCKET: z.string().min(1),
  /** The customer-managed key the bucket policy requires on every put. */
  EXPORT_KMS_KEY_ID: z.string().min(1),
  /** The data map bundled with the function. */
  DATA_MAP_FILE: z.string().min(1),
  SENDER_EMAIL: z.string().email('must be an email address'),
  /** Base URL of the download endpoint (the HTTP API). */
  PUBLIC_BASE_URL: z.string().url('must be a URL'),
  LINK_TTL_HOURS: positiveNumber.default(72),
  RETENTION_DAYS: positiveNumber.default(7),
  /** Days within which a request must be answered (an export's dueBy); no default: it is the law's deadline, set by the template. */
  RESPONSE_DAYS: z.coerce.number().int().min(1, 'must be at least 1').max(90, 'must be at most 90'),
  /** Hours before dueBy from which an export not yet answered counts toward ExportsNearDue (the sweeper). */
  DUE_ALARM_HOURS: z.coerce.number().int().min(0, 'must be 0 or more'),
  /** The export state machine's TimeoutSeconds: past it (and a grace), the sweeper closes an export still open. */
  EXECUTION_TIMEOUT_SECONDS: z.coerce.number().int().positive('must be a positive number of seconds'),
  /** Days an audit row (actor, IP, browser) is kept before the table's TTL removes it. */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1, 'must be at least 1').max(3650, 'must be at most 3650').default(400),
  /** Hours after a completed self-service export before the user may start another (0: none). */
  COOLDOWN_HOURS: z.coerce.number().min(0, 'must be 0 or more').default(24),
  /** Upper bound on one CollectSource invocation; Lambda's remaining time bounds it too. */
  COLLECT_BUDGET_SECONDS: positiveNumber.default(600),
  /** Upper bound on one BundleArchive invocation before it finishes its part and hands back a resume point. */
  BUNDLE_BUDGET_SECONDS: positiveNumber.default(DEFAULT_BUNDLE_BUDGET_SECONDS),
  /** Largest size of one archive part; unset, an archive is one ZIP of any size. */
  MAX_ARCHIVE_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024, 'must be at least 65536 (64 KiB)')
    .optional(),
  /** The KMS HMAC key that signs download links. */
  LINK_SIGNING_KEY_ID: z.string().min(1),
  STATE_MACHINE_ARN: z.string().min(1),
  /** Executions that may run at once (the maxConcurrentExports setting); further exports wait as QUEUED. */
  MAX_CONCURRENT_EXPORTS: z.coerce.number().int().min(1, 'must be at least 1').max(10_000, 'must be at most 10000'),
} as const;

export function pickEnv<K extends keyof typeof ENV>(...names: K[]): Pick<typeof ENV, K> {
  return Object.fromEntries(names.map((n) => [n, ENV[n]])) as Pick<typeof ENV, K>;
}
