// What each function's role holds in the synthesized template, exactly: the actions its code calls on
// the resources it touches, and nothing more. (test/integration/least-privilege.test.ts proves the same
// by use; this pins it, and checks that the README's deploy section says the same.)
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataMapFile } from '../../lambdas/core/data-map/data-map.ts';
import { authorize, authorizeDatabaseConnect } from '../../local/iam/enforce.ts';
import { PolicyEnforcer, STATE_MACHINE } from '../../local/iam/policy-enforcer.ts';
import { synthesize, type SynthesizedStack } from '../../local/iam/stack-template.ts';
import { withoutGrant } from '../support/template-edits.ts';

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
  'DirectMessages',
  'DirectMessages/index/byRecipient',
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
/** Admission: starting a waiting export's execution (the queue's Query is on the table itself). */
const ADMIT = 'states:StartExecution stateMachine:UserDataExport-local';

const API = [
  ...CLOSE_JOB,
  `dynamodb:Query ${JOBS} ${JOBS}/index/byUser`,
  `kms:Decrypt ${DATA_KEY}`,
  `kms:GenerateMac ${LINK_KEY}`,
  `ses:SendEmail ${SENDER}`,
  ADMIT,
  'states:StopExecution execution:UserDataExport-local:*',
];

/** What both collector functions hold: the jobs table items, the data key, staging. */
const COLLECT_COMMON = [
  `dynamodb:GetItem ${JOBS}`,
  `dynamodb:UpdateItem ${JOBS}`,
  `kms:Decrypt ${DATA_KEY}`,
  `kms:GenerateDataKey ${DATA_KEY}`,
  `s3:AbortMultipartUpload ${STAGING}`,
  `s3:DeleteObject ${STAGING}`,
  `s3:GetObject ${STAGING}`,
  `s3:PutObject ${STAGING}`,
  `s3:ListBucket ${BUCKET}`,
];
const VPC_ACCESS = ['CreateNetworkInterface', 'DescribeNetworkInterfaces', 'DescribeSubnets', 'DeleteNetworkInterface', 'AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses'];
/** Every grant, as "action resource…" with the local account, region and names (see local/iam/local-resources.ts). */
const EXPECTED: Record<string, string[]> = {
  UserApi: API,
  SupportApi: [...API, `dynamodb:Query table/Users`],
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
    ...COLLECT_COMMON,
    `dynamodb:Query ${DATA_MAP_TABLES.join(' ')}`,
    's3:ListBucket s3:::marketplace-uploads',
    's3:GetObject s3:::marketplace-uploads/users/*/attachments/*',
    // The identity source matches by username: no ListUsers.
    'cognito-idp:AdminGetUser userpool/us-east-1_Cartr0pic',
    'cognito-idp:AdminListGroupsForUser userpool/us-east-1_Cartr0pic',
  ],
  // The demo's orders, invoices, leads and reviews: the database user at any proxy (the demo map names no proxyResourceId).
  // (No GetObject on staging: only the S3 collector reads back what it staged.)
  CollectDatabaseSource: [
    ...COLLECT_COMMON.filter((grant) => grant !== `s3:GetObject ${STAGING}`),
    'rds-db:connect dbuser:*/exporter',
    ...VPC_ACCESS.map((action) => `ec2:${action} *`),
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
  ExecutionEnded: [...CLOSE_JOB, `dynamodb:Query ${JOBS}`, `kms:Decrypt ${DATA_KEY}`, ...CLEANUP, `ses:SendEmail ${SENDER}`, ADMIT],
  SweepExports: [...CLOSE_JOB, `dynamodb:Query ${JOBS} ${JOBS}/index/openRequests ${JOBS}/index/byUser`, `kms:Decrypt ${DATA_KEY}`, ...CLEANUP, `ses:SendEmail ${SENDER}`, ADMIT],
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
/** What a function's role grants, but the platform's, as "action resource" pairs. */
const grantsOf = (enforcer: PolicyEnforcer, fn: string) =>
  pairs(
    enforcer
      .grantedActions(fn)
      .filter((g) => !PLATFORM.test(g.action))
      .map((g) => ({ ...g, resources: g.resources.map(short) })),
  );
/** An expectation table's line for a function, as the same pairs. */
const pairsOf = (lines: string[] = []) =>
  pairs(
    lines.map((g) => {
      const [action = '', ...resources] = g.split(' ');
      return { action, resources };
    }),
  );
const granted = (fn: string) => grantsOf(permissions, fn);
const expected = (fn: string) => pairsOf(EXPECTED[fn]);

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
      rows.map((row) => [/^\| `(\w+)`/.exec(row)?.[1] ?? '', [...new Set([...row.matchAll(/`([a-z0-9-]+:[A-Za-z*]+)`/g)].map((m) => m[1]))].sort()]),
    );
    const actual = Object.fromEntries(permissions.functionNames.map((fn) => [fn, [...new Set(granted(fn).map((g) => g.split(' ')[0]))].sort()]));
    expect(listed).toEqual(actual);
  });
});

// A map with every store type, its databases and pools deployed (aws blocks): each collector function
// holds exactly its own sources' grants, the database reader runs in the databases' VPC, and the local
// enforcement refuses what a template without a grant would refuse.
const STORES_MAP = 'test/fixtures/data-map-databases.json';
const CUSTOMERS = 'userpool/eu-west-1_AbC123def';
const DEALERS = 'userpool/eu-west-1_Dealers42';
const STORES_EXPECTED: Record<string, string[]> = {
  CollectSource: [
    ...COLLECT_COMMON,
    'dynamodb:Query table/Users',
    's3:ListBucket s3:::uploads',
    's3:GetObject s3:::uploads/users/*/*',
    // match "username": the user is read by name; ListUsers (by sub) only for the pool whose source matches "sub".
    `cognito-idp:AdminGetUser ${CUSTOMERS} ${DEALERS}`,
    `cognito-idp:AdminListGroupsForUser ${CUSTOMERS} ${DEALERS}`,
    `cognito-idp:ListUsers ${DEALERS}`,
    `cognito-idp:AdminListDevices ${DEALERS}`,
    `cognito-idp:AdminListUserAuthEvents ${DEALERS}`,
  ],
  CollectDatabaseSource: [
    ...COLLECT_COMMON.filter((grant) => grant !== `s3:GetObject ${STAGING}`),
    // The configured user only: at any proxy of the account without a proxyResourceId, at that proxy with one.
    'rds-db:connect dbuser:*/exporter dbuser:prx-0123456789abcdef0/billing_exporter',
    ...VPC_ACCESS.map((action) => `ec2:${action} *`),
  ],
};

describe('a data map with databases and user pools', () => {
  let stores: PolicyEnforcer;
  let storesStack: SynthesizedStack;
  const storesGranted = (fn: string) => grantsOf(stores, fn);
  const storesExpected = (fn: string) => pairsOf(STORES_EXPECTED[fn]);

  beforeAll(async () => {
    storesStack = await synthesize({ dataMapFile: STORES_MAP, senderEmail: 'privacy@cartropic.com' });
    stores = new PolicyEnforcer(storesStack, loadDataMapFile(STORES_MAP));
  });

  it.each(Object.keys(STORES_EXPECTED))('%s holds exactly the grants of the sources its connectors give it', (fn) => {
    expect(storesGranted(fn)).toEqual(storesExpected(fn));
  });

  it('gives Cognito and database grants to no other function', () => {
    for (const fn of stores.functionNames) {
      const actions = stores.grantedActions(fn).map((g) => g.action);
      if (fn !== 'CollectSource')
        expect(
          actions.filter((a) => a.startsWith('cognito-idp:')),
          fn,
        ).toEqual([]);
      if (fn !== 'CollectDatabaseSource')
        expect(
          actions.filter((a) => a.startsWith('rds-db:') || a.startsWith('ec2:')),
          fn,
        ).toEqual([]);
    }
  });

  it('lets the state machine invoke both collectors', () => {
    const invoke = stores.grantedActions(STATE_MACHINE).filter((g) => g.action === 'lambda:InvokeFunction');
    expect(invoke.flatMap((g) => g.resources)).toEqual(expect.arrayContaining([stores.functionArns.CollectSource, stores.functionArns.CollectDatabaseSource]));
  });

  it('refuses a connection or a Cognito call once its grant is taken out of the template', async () => {
    await expect(authorizeDatabaseConnect(stores, 'CollectDatabaseSource', 'marketplace')).resolves.toBeUndefined();
    await expect(authorizeDatabaseConnect(stores, 'CollectDatabaseSource', 'billing')).resolves.toBeUndefined();
    await expect(authorizeDatabaseConnect(stores, 'CollectSource', 'marketplace')).rejects.toMatchObject({ name: 'AccessDeniedException', code: '28P01' });
    const narrowed = new PolicyEnforcer(withoutGrant(storesStack, 'CollectDatabaseSource', 'rds-db:connect', 'dbuser:'), loadDataMapFile(STORES_MAP));
    const refused = authorizeDatabaseConnect(narrowed, 'CollectDatabaseSource', 'marketplace');
    await expect(refused).rejects.toMatchObject({ name: 'AccessDeniedException', code: '28P01' });
    await expect(refused).rejects.toThrow(
      'CollectDatabaseSource is not authorized to perform: rds-db:connect on resource: arn:aws:rds-db:us-east-1:000000000000:dbuser:prx-local/exporter',
    );

    const byName = { UserPoolId: 'eu-west-1_Dealers42', Username: 'dealer-1' };
    await expect(authorize(stores, 'CollectSource', 'CognitoIdentityProviderClient', 'ListUsersCommand', byName)).resolves.toBeUndefined();
    await expect(authorize(stores, 'CollectSource', 'CognitoIdentityProviderClient', 'ListUsersCommand', { UserPoolId: 'eu-west-1_AbC123def' })).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    const withoutDevices = new PolicyEnforcer(withoutGrant(storesStack, 'CollectSource', 'cognito-idp:AdminListDevices', 'Dealers42'), loadDataMapFile(STORES_MAP));
    await expect(authorize(withoutDevices, 'CollectSource', 'CognitoIdentityProviderClient', 'AdminListDevicesCommand', byName)).rejects.toThrow(
      'cognito-idp:AdminListDevices on resource: arn:aws:cognito-idp:us-east-1:000000000000:userpool/eu-west-1_Dealers42',
    );
  });
});
