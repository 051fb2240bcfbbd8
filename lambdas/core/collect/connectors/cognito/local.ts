// Cognito on the embedded stack: one cognito-local pool per `userPools` entry of the data map, and the
// seed loader that creates a seed's users in them (attributes, groups, disabled or not), with no email
// sent (SUPPRESS), as an operator's import would.
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDisableUserCommand,
  CreateGroupCommand,
  CreateUserPoolCommand,
  type CognitoIdentityProviderClient,
} from '@aws-sdk/client-cognito-identity-provider';
import { SeedError } from '../../../platform/errors.ts';

export interface SeedUser {
  username: string;
  attributes: Record<string, string>;
  groups: string[];
  enabled: boolean;
}

/** Creates a pool for each name; returns each pool's id. */
export async function createUserPools(client: CognitoIdentityProviderClient, names: string[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const name of names) {
    const created = await client.send(new CreateUserPoolCommand({ PoolName: name }));
    const id = created.UserPool?.Id;
    if (!id) throw new Error(`cognito-local created pool "${name}" without an id.`);
    ids[name] = id;
  }
  return ids;
}

/** Creates a seed's users in one pool, in order; the first that fails stops the load, named. */
export async function seedUserPool(client: CognitoIdentityProviderClient, userPoolId: string, pool: string, users: SeedUser[], origin: string): Promise<number> {
  const groups = new Set<string>();
  for (const [i, user] of users.entries()) {
    try {
      await client.send(
        new AdminCreateUserCommand({
          UserPoolId: userPoolId,
          Username: user.username,
          MessageAction: 'SUPPRESS',
          UserAttributes: Object.entries(user.attributes).map(([Name, Value]) => ({ Name, Value })),
        }),
      );
      for (const group of user.groups) {
        if (!groups.has(group)) await client.send(new CreateGroupCommand({ UserPoolId: userPoolId, GroupName: group }));
        groups.add(group);
        await client.send(new AdminAddUserToGroupCommand({ UserPoolId: userPoolId, Username: user.username, GroupName: group }));
      }
      if (!user.enabled) await client.send(new AdminDisableUserCommand({ UserPoolId: userPoolId, Username: user.username }));
    } catch (error) {
      throw new SeedError(`${origin}: cognito.${pool}[${i}] ("${user.username}") could not be created: ${(error as Error).name}: ${(error as Error).message}`, { cause: error });
    }
  }
  return users.length;
}
