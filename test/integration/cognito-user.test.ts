// A user's Cognito identity read from cognito-local (the embedded stand-in), by username and by sub:
// every attribute but the excluded ones, status, enabled flag, dates, MFA settings and groups; a user id
// that is not a sub never reaches the ListUsers filter, and another user's record never comes back.
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDisableUserCommand,
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  CreateUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCognitoUser, type CognitoRead } from '../../lambdas/core/collect/connectors/cognito/user.ts';
import { startCognitoLocal } from '../../local/emulators.ts';

const HOSTILE_NAME = 'Ana "the buyer" \u202eO\'Brien\n=HYPERLINK("x")';
let cognito: Awaited<ReturnType<typeof startCognitoLocal>>;
let client: CognitoIdentityProviderClient;
let source: CognitoRead;
let anaSub = '';

beforeAll(async () => {
  cognito = await startCognitoLocal();
  client = new CognitoIdentityProviderClient({ endpoint: cognito.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const pool = await client.send(new CreateUserPoolCommand({ PoolName: 'customers', Schema: [{ Name: 'risk_score', AttributeDataType: 'String', Mutable: true }] }));
  const userPoolId = pool.UserPool?.Id ?? '';
  source = { id: 'identity', userPoolId, match: 'username', exclude: ['custom:risk_score'] };
  const created = await client.send(
    new AdminCreateUserCommand({
      UserPoolId: userPoolId,
      Username: 'ana',
      MessageAction: 'SUPPRESS',
      UserAttributes: [
        { Name: 'email', Value: 'ana@example.com' },
        { Name: 'name', Value: HOSTILE_NAME },
        { Name: 'custom:risk_score', Value: '97-secret' },
      ],
    }),
  );
  anaSub = created.User?.Attributes?.find((a) => a.Name === 'sub')?.Value ?? '';
  await client.send(
    new AdminCreateUserCommand({ UserPoolId: userPoolId, Username: 'bob', MessageAction: 'SUPPRESS', UserAttributes: [{ Name: 'email', Value: 'bob@example.com' }] }),
  );
  for (const [name, precedence] of [
    ['buyers', 1],
    ['beta-testers', 5],
  ] as const) {
    await client.send(new CreateGroupCommand({ UserPoolId: userPoolId, GroupName: name, Precedence: precedence, Description: `The ${name}` }));
    await client.send(new AdminAddUserToGroupCommand({ UserPoolId: userPoolId, Username: 'ana', GroupName: name }));
  }
  await client.send(new AdminDisableUserCommand({ UserPoolId: userPoolId, Username: 'ana' }));
}, 60_000);

afterAll(async () => {
  await cognito?.close();
});

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown;

describe('a Cognito identity', () => {
  it('holds every attribute but the excluded, its status, flag, dates, MFA settings and groups', async () => {
    const record = await readCognitoUser(client, source, 'ana');
    expect(record).toEqual({
      username: 'ana',
      status: 'FORCE_CHANGE_PASSWORD',
      enabled: false,
      createdAt: ISO,
      modifiedAt: ISO,
      attributes: { email: 'ana@example.com', name: HOSTILE_NAME, sub: anaSub },
      mfa: { preferred: null, enabled: [], options: [] },
      // Group names, as DESIGN.md's Cognito record has them, in the order the pool lists them.
      groups: expect.arrayContaining(['buyers', 'beta-testers']) as unknown,
    });
    expect((record?.groups as unknown[]).length).toBe(2);
    expect(JSON.stringify(record)).not.toContain('risk_score');
    expect(JSON.stringify(record)).not.toContain('97-secret');
  });

  it('finds the same user by sub, and nobody for an id that is not a sub’s shape', async () => {
    const bySub = { ...source, match: 'sub' as const };
    expect(await readCognitoUser(client, bySub, anaSub)).toEqual(await readCognitoUser(client, source, 'ana'));
    expect(await readCognitoUser(client, bySub, '00000000-0000-4000-8000-000000000000')).toBeUndefined();
    // A filter written into the id would match bob; the id is refused by its shape before any request.
    expect(await readCognitoUser(client, bySub, `${anaSub}" or email = "bob@example.com`)).toBeUndefined();
    expect(await readCognitoUser(client, bySub, 'ana')).toBeUndefined();
  });

  it('answers nothing for a username the pool does not know, and never another user’s record', async () => {
    expect(await readCognitoUser(client, source, 'nobody')).toBeUndefined();
    // Cognito would refuse these as usernames (InvalidParameterException); they name nobody.
    for (const id of ['', 'with space', 'x'.repeat(129)]) expect(await readCognitoUser(client, source, id)).toBeUndefined();
    const bob = await readCognitoUser(client, source, 'bob');
    expect(bob).toMatchObject({ username: 'bob', enabled: true, groups: [], attributes: { email: 'bob@example.com' } });
    expect(JSON.stringify(bob)).not.toContain('ana');
  });

  it('never takes the user an alias found for the user id (AdminGetUser resolves aliases; cognito-local does not)', async () => {
    // cognito-local has no aliases, so this one answer is AWS's documented AdminGetUser shape, given by a stub.
    const sent: unknown[] = [];
    const aliasing = {
      send: (command: { constructor: { name: string }; input: unknown }) => {
        sent.push({ command: command.constructor.name, input: command.input });
        return Promise.resolve({ Username: 'carol', UserAttributes: [{ Name: 'preferred_username', Value: 'u-1001' }], Enabled: true, UserStatus: 'CONFIRMED' });
      },
    } as unknown as CognitoIdentityProviderClient;
    expect(await readCognitoUser(aliasing, { ...source, userPoolId: 'us-east-1_Pool1' }, 'u-1001')).toBeUndefined();
    expect(sent).toEqual([{ command: 'AdminGetUserCommand', input: { UserPoolId: 'us-east-1_Pool1', Username: 'u-1001' } }]);
  });
});
