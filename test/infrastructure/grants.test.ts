// What each function's role holds in the synthesized template, exactly: the actions its code calls on
// the resources it touches, and nothing more. (test/integration/least-privilege.test.ts proves the same
// by use; this pins it, and checks that the README's deploy section says the same.)
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataMapFile } from '../../lambdas/core/data-map/data-map.ts';
import { authorize, authorizeDatabaseConnect } from '../../local/iam/enforce.ts';
import { LOCAL_DATABASE_USER, localUserPoolId } from '../../local/iam/local-resources.ts';
import { PolicyEnforcer, STATE_MACHINE } from '../../local/iam/policy-enforcer.ts';
import { synthesize, type SynthesizedStack } from '../../local/iam/stack-template.ts';
import { synth as synthStack } from '../support/stack-synth.ts';
import { withoutGrant } from '../support/template-edits.ts';
import { writeDataMap } from '../support/data-map-file.ts';

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
const API = [
  ...CLOSE_JOB,
  `dynamodb:Query ${JOBS}/index/byUser`,
  `kms:Decrypt ${DATA_KEY}`,
  `kms:GenerateMac ${LINK_KEY}`,
  `ses:SendEmail ${SENDER}`,
  'states:StartExecution stateMachine:UserDataExport-local',
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
  ExecutionEnded: [...CLOSE_JOB, `kms:Decrypt ${DATA_KEY}`, ...CLEANUP, `ses:SendEmail ${SENDER}`],
  SweepExports: [...CLOSE_JOB, `dynamodb:Query ${JOBS}/index/openRequests ${JOBS}/index/byUser`, `kms:Decrypt ${DATA_KEY}`, ...CLEANUP, `ses:SendEmail ${SENDER}`],
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

describe('the database reader’s network', () => {
  const { template } = synthStack({ dataMapFile: STORES_MAP }, { nag: true });
  const functions = template.findResources('AWS::Lambda::Function') as Record<string, { Properties: { VpcConfig?: { SubnetIds: unknown; SecurityGroupIds: unknown[] } } }>;
  const byId = (prefix: string) => Object.entries(functions).find(([id]) => id.startsWith(prefix))?.[1];
  const groups = template.findResources('AWS::EC2::SecurityGroup');
  const ownGroup = Object.keys(groups)[0] ?? '';

  it('runs CollectDatabaseSource in the databases’ subnets with a security group of its own; every other function outside any VPC', () => {
    expect(Object.keys(groups)).toHaveLength(1);
    expect(byId('WorkflowCollectDatabaseSource')?.Properties.VpcConfig).toEqual({
      SubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-0b1c2d3e4f5a60719', 'subnet-0c1d2e3f4a5b6071a'],
      SecurityGroupIds: [{ 'Fn::GetAtt': [ownGroup, 'GroupId'] }],
    });
    for (const [id, fn] of Object.entries(functions)) if (!id.startsWith('WorkflowCollectDatabaseSource')) expect(fn.Properties.VpcConfig, id).toBeUndefined();
    expect(byId('WorkflowCollectSource')).toBeDefined();
  });

  it('lets its group out only to each database’s group on its port and to HTTPS, and lets it into each database’s group', () => {
    expect(groups[ownGroup]?.Properties).toMatchObject({
      VpcId: 'vpc-0a1b2c3d4e5f60718',
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }],
    });
    const own = { 'Fn::GetAtt': [ownGroup, 'GroupId'] };
    const rules = (type: string) => Object.values(template.findResources(type)).map((r) => r.Properties as Record<string, unknown>);
    expect(rules('AWS::EC2::SecurityGroupEgress')).toEqual([
      expect.objectContaining({ GroupId: own, DestinationSecurityGroupId: 'sg-0a1b2c3d4e5f60718', IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432 }),
      expect.objectContaining({ GroupId: own, DestinationSecurityGroupId: 'sg-0b1c2d3e4f5a60719', IpProtocol: 'tcp', FromPort: 6432, ToPort: 6432 }),
    ]);
    expect(rules('AWS::EC2::SecurityGroupIngress')).toEqual([
      expect.objectContaining({ GroupId: 'sg-0a1b2c3d4e5f60718', SourceSecurityGroupId: own, IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432 }),
      expect.objectContaining({ GroupId: 'sg-0b1c2d3e4f5a60719', SourceSecurityGroupId: own, IpProtocol: 'tcp', FromPort: 6432, ToPort: 6432 }),
    ]);
  });

  it('refuses databases in two VPCs, naming them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpcs-'));
    const map = JSON.parse(readFileSync(STORES_MAP, 'utf8')) as { databases: Record<string, { aws: { vpcId: string } }> };
    if (map.databases.billing) map.databases.billing.aws.vpcId = 'vpc-0fedcba987654321f';
    const file = join(dir, 'map.json');
    writeFileSync(file, JSON.stringify(map));
    expect(() => synthStack({ dataMapFile: file })).toThrow(
      /different VPCs: "marketplace" \(vpc-0a1b2c3d4e5f60718\), "billing" \(vpc-0fedcba987654321f\)\. One function, CollectDatabaseSource, reads every database/,
    );
  });

  it('has no CollectDatabaseSource for a map without database sources', () => {
    const dir = mkdtempSync(join(tmpdir(), 'no-databases-'));
    const file = join(dir, 'map.json');
    writeDataMap(dir, [{ id: 'account', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' }], 'map.json');
    const { template: plain } = synthStack({ dataMapFile: file });
    // Its placeholder in the ASL names CollectSource, which the Choice never routes a database source to.
    const [machine] = Object.values(plain.findResources('AWS::StepFunctions::StateMachine')) as { Properties: { DefinitionSubstitutions: Record<string, unknown> } }[];
    expect(machine?.Properties.DefinitionSubstitutions.CollectDatabaseSourceFunctionArn).toEqual(machine?.Properties.DefinitionSubstitutions.CollectSourceFunctionArn);
    expect(Object.keys(plain.findResources('AWS::Lambda::Function')).filter((id) => id.includes('CollectDatabaseSource'))).toEqual([]);
    plain.resourceCountIs('AWS::EC2::SecurityGroup', 0);
  });

  it('refuses a map that cannot answer an access request, naming the category and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'no-answer-'));
    const file = join(dir, 'map.json');
    writeFileSync(file, JSON.stringify({ sources: [{ id: 'account', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' }] }));
    expect(() => synthStack({ dataMapFile: file })).toThrow(`The data map file ${file} does not say everything an access request must be told (GDPR Art. 15(1)):
  - categories.account.legalBasis: is missing (category "account" is used by source "account")`);
  });
});

// Without aws blocks, or with the placeholders ("…"), which could not be deployed either.
describe.each(['without aws blocks', 'with placeholder aws blocks'])('a data map %s, as the embedded stack runs it', (variant) => {
  const dir = mkdtempSync(join(tmpdir(), 'local-stores-'));
  const file = join(dir, 'map.json');
  const map = JSON.parse(readFileSync(STORES_MAP, 'utf8')) as { databases: Record<string, { aws?: unknown }>; userPools: Record<string, { aws?: unknown }> };
  for (const entry of Object.values(map.databases)) {
    if (variant === 'without aws blocks') delete entry.aws;
    else entry.aws = { proxyEndpoint: '…', port: 5432, user: 'exporter', vpcId: '…', subnetIds: ['…'], securityGroupId: '…' };
  }
  for (const entry of Object.values(map.userPools)) {
    if (variant === 'without aws blocks') delete entry.aws;
    else entry.aws = { userPoolId: 'us-east-1_…' };
  }
  writeFileSync(file, JSON.stringify(map));

  it('synthesizes with local stand-ins: the local database user, a deterministic pool id of Cognito’s shape', async () => {
    expect(localUserPoolId('dealers')).toMatch(/^[\w-]+_[0-9a-zA-Z]+$/);
    expect(localUserPoolId('dealers')).toBe(localUserPoolId('dealers'));
    expect(localUserPoolId('dealers')).not.toBe(localUserPoolId('customers'));
    const local = new PolicyEnforcer(await synthesize({ dataMapFile: file, senderEmail: 'privacy@cartropic.com' }), loadDataMapFile(file), {
      userPools: { dealers: 'local_dealers1', customers: 'local_custom2' },
    });
    const rds = local.grantedActions('CollectDatabaseSource').filter((g) => g.action === 'rds-db:connect');
    expect(rds.flatMap((g) => g.resources)).toEqual([`arn:aws:rds-db:us-east-1:000000000000:dbuser:*/${LOCAL_DATABASE_USER}`]);
    await expect(authorizeDatabaseConnect(local, 'CollectDatabaseSource', 'billing')).resolves.toBeUndefined();
    // The stand-in's pool ids are translated to the template's by the pool's name; an unknown id is not.
    await expect(authorize(local, 'CollectSource', 'CognitoIdentityProviderClient', 'ListUsersCommand', { UserPoolId: 'local_dealers1' })).resolves.toBeUndefined();
    await expect(authorize(local, 'CollectSource', 'CognitoIdentityProviderClient', 'ListUsersCommand', { UserPoolId: 'local_custom2' })).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    await expect(
      authorize(local, 'CollectSource', 'CognitoIdentityProviderClient', 'AdminGetUserCommand', { UserPoolId: 'local_custom2', Username: 'ana' }),
    ).resolves.toBeUndefined();
    await expect(authorize(local, 'CollectSource', 'CognitoIdentityProviderClient', 'AdminGetUserCommand', { UserPoolId: 'local_unknown', Username: 'ana' })).rejects.toMatchObject(
      {
        name: 'AccessDeniedException',
      },
    );
  });
});
