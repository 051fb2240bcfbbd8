// What each function's role holds in the synthesized template, exactly: the actions its code calls on
// the resources it touches, and nothing more. (test/integration/least-privilege.test.ts proves the same
// by use; this pins it, and checks that the README's deploy section says the same.)
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataMapFile } from '../../lambdas/core/data-map/data-map.ts';
import { PolicyEnforcer } from '../../local/iam/policy-enforcer.ts';
import { synthesize } from '../../local/iam/stack-template.ts';

const JOBS = 'table/ExportJobs';
const DATA_KEY = 'key/local-export-key';
const LINK_KEY = 'key/local-link-key';
const SENDER = 'identity/cartropic.com identity/privacy@cartropic.com';
const STAGING = 's3:::user-data-exports-local/staging/*';
const ARCHIVES = 's3:::user-data-exports-local/archives/*';
const BUCKET = 's3:::user-data-exports-local';
const CLEANUP = [`s3:DeleteObject ${STAGING}`, `s3:DeleteObject ${ARCHIVES}`, `s3:ListBucket ${BUCKET}`];
const CLOSE_JOB = ['DeleteItem', 'GetItem', 'PutItem', 'UpdateItem'].map((a) => `dynamodb:${a} ${JOBS}`);
const DATA_MAP_TABLES = [
  'ClientErrorLogs',
  'CoarseLocations',
  'DeviceSessions',
  'Feedback',
  'Messages',
  'PaymentMethods',
  'ResponseTimings',
  'SearchQueries',
  'SupportTickets',
  'UsageEvents/index/byUser',
  'UserProfiles',
  'Users',
].map((t) => `table/${t}`);
const API = [
  ...CLOSE_JOB,
  `dynamodb:Query ${JOBS}/index/byUser`,
  `kms:Decrypt ${DATA_KEY}`,
  `kms:GenerateMac ${LINK_KEY}`,
  `ses:SendEmail ${SENDER}`,
  'states:StartExecution stateMachine:UserDataExport-local',
  'states:StopExecution execution:UserDataExport-local:*',
];

/** Every grant, as "action resource…" with the local account, region and names (see local/iam/local-resources.ts). */
const EXPECTED: Record<string, string[]> = {
  UserApi: API,
  SupportApi: [...API, `dynamodb:Query ${JOBS}`, `dynamodb:Query table/Users`],
  Download: [
    `dynamodb:GetItem ${JOBS}`,
    `dynamodb:PutItem ${JOBS}`,
    `dynamodb:UpdateItem ${JOBS}`,
    `kms:Decrypt ${DATA_KEY}`,
    `s3:GetObject ${ARCHIVES}`,
    `kms:VerifyMac ${LINK_KEY}`,
  ],
  PrepareExport: [`dynamodb:GetItem ${JOBS}`, `dynamodb:UpdateItem ${JOBS}`, `kms:Decrypt ${DATA_KEY}`, 'dynamodb:Query table/Users'],
  CollectSource: [
    `dynamodb:GetItem ${JOBS}`,
    `dynamodb:UpdateItem ${JOBS}`,
    `kms:Decrypt ${DATA_KEY}`,
    `kms:GenerateDataKey ${DATA_KEY}`,
    `s3:AbortMultipartUpload ${STAGING}`,
    `s3:DeleteObject ${STAGING}`,
    `s3:GetObject ${STAGING}`,
    `s3:PutObject ${STAGING}`,
    `s3:ListBucket ${BUCKET}`,
    `dynamodb:Query ${DATA_MAP_TABLES.join(' ')}`,
    's3:ListBucket s3:::marketplace-uploads',
    's3:GetObject s3:::marketplace-uploads/users/*/attachments/*',
  ],
  BundleArchive: [
    `s3:DeleteObject ${STAGING}`,
    `s3:GetObject ${STAGING}`,
    `s3:PutObject ${STAGING}`,
    `s3:AbortMultipartUpload ${ARCHIVES}`,
    `s3:DeleteObject ${ARCHIVES}`,
    `s3:PutObject ${ARCHIVES}`,
    `s3:ListBucket ${BUCKET}`,
    `kms:Decrypt ${DATA_KEY}`,
    `kms:GenerateDataKey ${DATA_KEY}`,
  ],
  SendLink: [...CLOSE_JOB, `kms:Decrypt ${DATA_KEY}`, `kms:GenerateMac ${LINK_KEY}`, `ses:SendEmail ${SENDER}`],
  MarkFailed: [...CLOSE_JOB, `kms:Decrypt ${DATA_KEY}`, ...CLEANUP, `ses:SendEmail ${SENDER}`],
  ExecutionEnded: [...CLOSE_JOB, `kms:Decrypt ${DATA_KEY}`, ...CLEANUP, `ses:SendEmail ${SENDER}`],
};

const PLATFORM = /^(logs|xray):/;
const short = (arn: string) => arn.replace(/^arn:aws:s3:::/, 's3:::').replace(/^arn:aws:[a-z0-9-]+:(us-east-1)?:(000000000000)?:/, '');

let permissions: PolicyEnforcer;
beforeAll(async () => {
  const stack = await synthesize({ dataMapFile: 'config/data-map.json', senderEmail: 'privacy@cartropic.com' });
  permissions = new PolicyEnforcer(stack, loadDataMapFile('config/data-map.json'));
});

/** One "action resource" per pair: how CDK happens to merge statements does not matter. */
const pairs = (grants: { action: string; resources: string[] }[]) => [...new Set(grants.flatMap((g) => g.resources.map((r) => `${g.action} ${r}`)))].sort();
const granted = (fn: string) =>
  pairs(
    permissions
      .grantedActions(fn)
      .filter((g) => !PLATFORM.test(g.action))
      .map((g) => ({ ...g, resources: g.resources.map(short) })),
  );
const expected = (fn: string) =>
  pairs(
    (EXPECTED[fn] ?? []).map((g) => {
      const [action = '', ...resources] = g.split(' ');
      return { action, resources };
    }),
  );

describe('each function’s role', () => {
  it('exists for exactly the functions of the stack', () => {
    expect(permissions.functionNames.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.keys(EXPECTED))('%s holds exactly the actions its code calls, on what it touches', (fn) => {
    expect(granted(fn)).toEqual(expected(fn));
  });

  it('only asks the platform for its own log group and X-Ray', () => {
    for (const fn of permissions.functionNames) {
      const platform = permissions.grantedActions(fn).filter((g) => PLATFORM.test(g.action));
      expect(platform.map((g) => g.action).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
      for (const grant of platform.filter((g) => g.action.startsWith('logs:')))
        expect(grant.resources).toEqual([expect.stringMatching(new RegExp(`:log-group:\\w*${fn}Logs\\w*:\\*$`))]);
    }
  });
});

describe('the README', () => {
  it('lists exactly the actions each function may do, in its deploy section', () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('### What each function may do'));
    const rows = section
      .slice(0, section.indexOf('\n\n', section.indexOf('|---')))
      .split('\n')
      .filter((line) => /^\| `\w+` \|/.test(line));
    const listed = Object.fromEntries(
      rows.map((row) => [/^\| `(\w+)`/.exec(row)?.[1] ?? '', [...new Set([...row.matchAll(/`([a-z0-9]+:[A-Za-z*]+)`/g)].map((m) => m[1]))].sort()]),
    );
    const actual = Object.fromEntries(permissions.functionNames.map((fn) => [fn, [...new Set(granted(fn).map((g) => g.split(' ')[0]))].sort()]));
    expect(listed).toEqual(actual);
  });
});
