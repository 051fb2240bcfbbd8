// A Cognito source: the user's identity in a user pool (attributes, status, groups, MFA settings), one
// record. The pools its sources name are declared once, at the top of the map, with their ids in AWS.
import * as z from 'zod';
import {
  excludeList,
  redactList,
  awsSettings,
  commonFields,
  connectorSchema,
  awsText,
  declaredProblem,
  identifier,
  perSecond,
  budgetsOf,
  type Problem,
} from '../../../data-map/connector.ts';

export const AWS_USER_POOL = z.object({ userPoolId: z.string().regex(/^[\w-]+_[0-9a-zA-Z]+$/, 'must be a user pool id such as us-east-1_AbC123') }).strict();

const pool = z
  .object({
    /** Only synth and deploy need it (its exact shape is checked there); the embedded stack creates its own pool. */
    aws: z.object({ userPoolId: awsText }).strict().optional(),
    /** Requests per second all sources of this pool may make, across every export at once (Cognito's quotas are per account). */
    maxRequestsPerSecond: perSecond.optional(),
  })
  .strict();

export type UserPool = z.infer<typeof pool>;

/** What else of a user the pool can tell, when the data map asks (calls cognito-local cannot answer). */
export const COGNITO_DETAILS = ['devices', 'authEvents'] as const;

const source = z
  .object({
    ...commonFields,
    type: z.literal('cognito'),
    userPool: identifier,
    /** How the user id names the Cognito user: as its username, or as its `sub` attribute. */
    match: z.enum(['username', 'sub'], { message: 'must be "username" or "sub"' }),
    /** Attributes never exported (a risk score, say). */
    exclude: excludeList.optional(),
    redact: redactList.optional(),
    details: z.array(z.enum(COGNITO_DETAILS, { message: `must be one of: ${COGNITO_DETAILS.join(', ')}` })).optional(),
    /** Requests per second this source may make, across every export at once. */
    maxRequestsPerSecond: perSecond.optional(),
  })
  .strict();

export type CognitoSource = z.infer<typeof source>;

const DETAIL_ACTIONS: Record<(typeof COGNITO_DETAILS)[number], string> = { devices: 'cognito-idp:AdminListDevices', authEvents: 'cognito-idp:AdminListUserAuthEvents' };

export const cognitoConnector = connectorSchema({
  type: 'cognito',
  source,
  mapFields: { userPools: z.record(identifier, pool) },
  problems: (raw, map): Problem[] => declaredProblem(raw, map, 'userPool', 'userPools'),
  output: 'records',
  keyColumns: () => ['username'],
  columnOrder: 'as-read',
  collector: 'CollectSource',
  grants(s, map, { partition, region, account }) {
    const { userPoolId } = awsSettings(map, 'userPools', s.userPool, s.id, AWS_USER_POOL);
    const actions = [
      'cognito-idp:AdminGetUser',
      'cognito-idp:AdminListGroupsForUser',
      ...(s.match === 'sub' ? ['cognito-idp:ListUsers'] : []),
      ...(s.details ?? []).map((detail) => DETAIL_ACTIONS[detail]),
    ];
    return [{ actions, resources: [`arn:${partition}:cognito-idp:${region}:${account}:userpool/${userPoolId}`] }];
  },
  readBudgets: (s, map) =>
    budgetsOf([
      [`source:${s.id}`, s.maxRequestsPerSecond],
      [`cognito:${s.userPool}`, (map.userPools as Record<string, UserPool> | undefined)?.[s.userPool]?.maxRequestsPerSecond],
    ]),
  budgetUnit: 'requests',
});
