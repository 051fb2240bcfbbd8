// The data map's PostgreSQL and Cognito sources: the issue's own map parses as written (its aws blocks
// hold placeholders, which only synth checks), and every mistake is named with its source and field.
import { describe, expect, it } from 'vitest';
import { postgresConnector } from '../../lambdas/core/collect/connectors/postgres/schema.ts';
import { cognitoConnector } from '../../lambdas/core/collect/connectors/cognito/schema.ts';
import { parseDataMap, type CognitoSource, type PostgresSource } from '../../lambdas/core/data-map/data-map.ts';
import { DataMapError } from '../../lambdas/core/platform/errors.ts';

/** The ⚑ data map of issue 14, exactly as the issue writes it. */
const ISSUE_MAP = {
  databases: {
    marketplace: {
      engine: 'postgres',
      database: 'marketplace',
      aws: { proxyEndpoint: '…', port: 5432, user: 'exporter', vpcId: '…', subnetIds: ['…'], securityGroupId: '…' },
    },
  },
  userPools: { customers: { aws: { userPoolId: 'us-east-1_…' } } },
  sources: [
    { id: 'orders', category: 'payment', type: 'postgres', database: 'marketplace', table: 'orders', userColumn: 'buyer_id', orderBy: ['order_id'], exclude: ['card_token'] },
    {
      id: 'reviews-about-me',
      category: 'communication',
      type: 'postgres',
      database: 'marketplace',
      query: 'SELECT r.* FROM reviews r JOIN listings l ON l.listing_id = r.listing_id WHERE l.seller_id = :userId',
      orderBy: ['review_id'],
    },
    { id: 'identity', category: 'account', type: 'cognito', userPool: 'customers', match: 'username', exclude: ['custom:risk_score'] },
  ],
};

const problemsOf = (value: unknown): string[] => {
  try {
    parseDataMap(value);
    return [];
  } catch (error) {
    if (!(error instanceof DataMapError)) throw error;
    return error.message.split('\n').slice(1);
  }
};
const withSource = (index: number, changes: Record<string, unknown>) => ({ ...ISSUE_MAP, sources: ISSUE_MAP.sources.map((s, i) => (i === index ? { ...s, ...changes } : s)) });
const SCOPE = { partition: 'aws', region: 'us-east-1', account: '123456789012' };

describe('PostgreSQL and Cognito sources', () => {
  it('accepts the issue’s map as written, aws placeholders and all', () => {
    const map = parseDataMap(ISSUE_MAP);
    expect(map.sources.map((s) => s.type)).toEqual(['postgres', 'postgres', 'cognito']);
    expect(map.databases?.marketplace?.aws?.port).toBe(5432);
  });

  it('names every mistake with its source and field', () => {
    expect(problemsOf(withSource(0, { database: 'warehouse' }))).toEqual([
      '  - sources[0] ("orders").database: names "warehouse", which "databases" does not declare (it declares "marketplace")',
    ]);
    expect(problemsOf(withSource(2, { userPool: 'staff' }))).toEqual([
      '  - sources[2] ("identity").userPool: names "staff", which "userPools" does not declare (it declares "customers")',
    ]);
    expect(problemsOf(withSource(1, { query: 'SELECT * FROM reviews' }))).toEqual([
      '  - sources[1] ("reviews-about-me").query: must contain :userId, or every user would read the same rows.',
    ]);
    // A placeholder inside a literal or a comment is no placeholder.
    expect(problemsOf(withSource(1, { query: "SELECT * FROM reviews WHERE body = ':userId' -- :userId" }))).toHaveLength(1);
    expect(problemsOf(withSource(0, { query: 'SELECT * FROM orders WHERE buyer_id = :userId' }))).toEqual([
      '  - sources[0] ("orders").query: cannot be combined with "table" and "userColumn"; give one or the other',
    ]);
    expect(problemsOf(withSource(0, { userColumn: undefined }))).toEqual(['  - sources[0] ("orders").userColumn: is needed with "table"']);
    expect(problemsOf(withSource(0, { orderBy: ['order_id', 'order_id'] }))).toEqual(['  - sources[0] ("orders").orderBy: names a column twice']);
    expect(problemsOf(withSource(0, { orderBy: [] }))).toEqual(['  - sources[0] ("orders").orderBy: must name at least one column']);
    expect(problemsOf(withSource(2, { match: 'email' }))).toEqual(['  - sources[2] ("identity").match: must be "username" or "sub"']);
    expect(problemsOf(withSource(0, { include: ['order_id'] }))).toEqual([
      '  - sources[0] ("orders").exclude: cannot be combined with "include"; list only the attributes to export',
    ]);
  });

  it('checks an aws block’s exact shape when grants are derived (synth), naming the source', () => {
    const map = parseDataMap(ISSUE_MAP);
    const orders = map.sources[0] as PostgresSource;
    expect(() => postgresConnector.grants(orders, map, SCOPE)).toThrow(
      /Source "orders" reads databases\.marketplace, whose "aws" block cannot be deployed:\n {2}- databases\.marketplace\.aws\.proxyEndpoint: must be a host name/,
    );
    const identity = map.sources[2] as CognitoSource;
    expect(() => cognitoConnector.grants(identity, map, SCOPE)).toThrow('userPools.customers.aws.userPoolId: must be a user pool id such as us-east-1_AbC123');
  });

  it('grants exactly what each source reads', () => {
    const map = parseDataMap({
      ...ISSUE_MAP,
      databases: {
        marketplace: {
          engine: 'postgres',
          database: 'marketplace',
          aws: {
            proxyEndpoint: 'p.proxy-x.us-east-1.rds.amazonaws.com',
            user: 'exporter',
            vpcId: 'vpc-0a',
            subnetIds: ['subnet-0b'],
            securityGroupId: 'sg-0c',
            proxyResourceId: 'prx-0d',
          },
        },
      },
      userPools: { customers: { aws: { userPoolId: 'us-east-1_AbC123' } } },
    });
    expect(postgresConnector.grants(map.sources[0] as PostgresSource, map, SCOPE)).toEqual([
      { actions: ['rds-db:connect'], resources: ['arn:aws:rds-db:us-east-1:123456789012:dbuser:prx-0d/exporter'] },
    ]);
    expect(cognitoConnector.grants(map.sources[2] as CognitoSource, map, SCOPE)).toEqual([
      { actions: ['cognito-idp:AdminGetUser', 'cognito-idp:AdminListGroupsForUser'], resources: ['arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbC123'] },
    ]);
    expect(cognitoConnector.grants({ ...(map.sources[2] as CognitoSource), match: 'sub' }, map, SCOPE)[0]?.actions).toContain('cognito-idp:ListUsers');
  });
});
