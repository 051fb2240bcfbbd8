// Where the database reader runs and what a map without real AWS settings synthesizes to: its own
// security group into the proxy's, one VPC only, no CollectDatabaseSource without databases, a map that
// cannot answer refused, and the embedded stack's stand-ins (local database user, pool ids) under IAM.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataMapFile } from '../../lambdas/core/data-map/data-map.ts';
import { authorize, authorizeDatabaseConnect } from '../../local/iam/enforce.ts';
import { LOCAL_DATABASE_USER, localUserPoolId } from '../../local/iam/local-resources.ts';
import { PolicyEnforcer } from '../../local/iam/policy-enforcer.ts';
import { synthesize } from '../../local/iam/stack-template.ts';
import { synth as synthStack } from '../support/stack-synth.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const STORES_MAP = 'test/fixtures/data-map-databases.json';
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
