// The app's settings, from cdk.json context (or `-c key=value`), validated by one zod schema so that
// every missing or wrong value is reported at once, before anything is synthesized.
import * as z from 'zod';

const commaList = z.union([
  z.array(z.string().min(1)),
  z.string().transform((s) =>
    s
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ),
]);

export const appConfigSchema = z
  .object({
    senderEmail: z.string().email('must be the email address exports are sent from (a verified SES identity)'),
    alarmEmail: z.string().email('must be the email address that receives operational alarms'),
    dataMapFile: z.string().min(1).default('config/data-map.json'),
    retentionDays: z.coerce.number().int().min(1).max(365, 'must be at most 365').default(7),
    linkLifetimeHours: z.coerce
      .number()
      .min(1)
      .max(24 * 30, 'must be at most 720 (30 days)')
      .default(72),
    cooldownHours: z.coerce
      .number()
      .min(0)
      .max(24 * 30)
      .default(24),
    /**
     * Days within which a request must be answered: GDPR Art. 12(3) gives one month, extendable by two
     * more for complex requests, so at most 90. Each export's dueBy is its receivedAt plus this.
     */
    responseDays: z.coerce.number().int().min(1).max(90, 'must be at most 90 (one month, extended by two at most)').default(30),
    /** Hours before its dueBy from which an export not yet answered counts toward the ExportsNearDue alarm. */
    dueAlarmHours: z.coerce
      .number()
      .int()
      .min(0)
      .max(24 * 90, 'must be at most 2160 (90 days)')
      .default(72),
    /** Days an audit row (who did what, from which IP and browser) is kept; the jobs table's TTL removes it. */
    auditRetentionDays: z.coerce.number().int().min(1).max(3650, 'must be at most 3650 (10 years)').default(400),
    /** Split archives into numbered ZIP parts of at most this many bytes; unset: one ZIP of any size. */
    maxArchiveBytes: z.coerce
      .number()
      .int()
      .min(64 * 1024, 'must be at least 65536 (64 KiB)')
      .optional(),
    /**
     * Exports whose executions may run at once; beyond it they wait as QUEUED, in arrival order, and
     * start as slots free (README, "Admission"). It bounds the load a wave of requests puts on the stores.
     */
    maxConcurrentExports: z.coerce.number().int().min(1, 'must be at least 1').max(10_000, 'must be at most 10000').default(50),
    /** An OIDC issuer for the account page's JWTs; when absent a Cognito user pool is created. */
    jwtIssuer: z.string().url('must be the OIDC issuer URL').optional(),
    jwtAudience: commaList.optional(),
    /** Origins allowed to call the API from a browser (the account page). */
    allowedOrigins: commaList.default([]),
  })
  .superRefine((c, ctx) => {
    // A window as long as the whole response time would count every export from the moment it arrives.
    if (c.dueAlarmHours >= c.responseDays * 24) {
      ctx.addIssue({
        code: 'custom',
        path: ['dueAlarmHours'],
        message: `must be less than responseDays × 24 (${c.responseDays * 24}), or every export counts as near its due date from the start`,
      });
    }
    if ((c.jwtIssuer === undefined) !== (c.jwtAudience === undefined || c.jwtAudience.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['jwtAudience'], message: 'jwtIssuer and jwtAudience go together: give both, or neither to create a Cognito user pool' });
    }
  });

export type AppConfig = z.infer<typeof appConfigSchema>;

export const CONTEXT_KEYS = Object.keys(appConfigSchema.shape) as (keyof AppConfig)[];

export class AppConfigError extends Error {
  override name = 'AppConfigError';
}

export function parseAppConfig(context: Record<string, unknown>): AppConfig {
  const result = appConfigSchema.safeParse(context);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => {
    const key = String(i.path[0] ?? '');
    return context[key] === undefined && i.code === 'invalid_type' ? `  - ${key}: is not set` : `  - ${key}: ${i.message}`;
  });
  throw new AppConfigError(`The cdk.json context of user-data-export is not usable:\n${problems.join('\n')}\nSet each key in cdk.json "context" or with -c key=value.`);
}
