// A user's identity in a Cognito user pool, as one export record: every attribute (but those the data
// map excludes), status, enabled flag, created and modified dates, MFA settings and groups. The user is
// found by username with AdminGetUser, or by `sub` with ListUsers, whose filter takes only a sub's
// shape, so no user id can widen it.
import {
  AdminGetUserCommand,
  AdminListDevicesCommand,
  AdminListGroupsForUserCommand,
  AdminListUserAuthEventsCommand,
  ListUsersCommand,
  type AdminGetUserCommandOutput,
  type CognitoIdentityProviderClient,
  type GroupType,
} from '@aws-sdk/client-cognito-identity-provider';
import { jsonValueType, temporalType, type ColumnType } from '../../../values/column-types.ts';

export interface CognitoRead {
  id: string;
  userPoolId: string;
  /** How the data map's user id names the Cognito user: as its username, or as its `sub`. */
  match: 'username' | 'sub';
  /** Attributes never exported (a risk score, say). */
  exclude?: string[];
  /** Devices and sign-in events, read only when asked (AWS answers them; cognito-local cannot). */
  details?: ('devices' | 'authEvents')[];
}

/** What Cognito accepts as a username (1 to 128 letters, marks, symbols, digits or punctuation): anything else names nobody. */
const USERNAME = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u;

/** A Cognito sub: a UUID, nothing that could change the meaning of a ListUsers filter. */
const SUB = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const iso = (date: Date | undefined) => (date ? date.toISOString() : null);

/** The username of the user the id names, or undefined when the pool has no such user. */
async function usernameOf(client: CognitoIdentityProviderClient, source: CognitoRead, userId: string): Promise<string | undefined> {
  if (source.match === 'username') return USERNAME.test(userId) ? userId : undefined;
  if (!SUB.test(userId)) return undefined;
  const found = await client.send(new ListUsersCommand({ UserPoolId: source.userPoolId, Filter: `sub = "${userId}"`, Limit: 2 }));
  const users = found.Users ?? [];
  if (users.length > 1) throw new Error(`User pool ${source.userPoolId} has more than one user with sub ${userId}.`);
  return users[0]?.Username;
}

async function groupsOf(client: CognitoIdentityProviderClient, userPoolId: string, username: string): Promise<GroupType[]> {
  const groups: GroupType[] = [];
  let next: string | undefined;
  do {
    const page = await client.send(new AdminListGroupsForUserCommand({ UserPoolId: userPoolId, Username: username, NextToken: next }));
    groups.push(...(page.Groups ?? []));
    next = page.NextToken;
  } while (next);
  return groups;
}

/** The user's record, or undefined when the pool does not know them (nothing to export, not an error). */
export async function readCognitoUser(client: CognitoIdentityProviderClient, source: CognitoRead, userId: string): Promise<Record<string, unknown> | undefined> {
  const username = await usernameOf(client, source, userId);
  if (username === undefined) return undefined;
  let user: AdminGetUserCommandOutput;
  try {
    user = await client.send(new AdminGetUserCommand({ UserPoolId: source.userPoolId, Username: username }));
  } catch (error) {
    if ((error as Error).name === 'UserNotFoundException') return undefined;
    throw error;
  }
  // AdminGetUser also finds a user by an alias (email, phone, preferred_username), which anybody may set
  // to another user's id: with `match: "username"` only the user of that very username is this user.
  if (source.match === 'username' && user.Username !== username) return undefined;
  const excluded = new Set(source.exclude ?? []);
  const attributes = Object.create(null) as Record<string, string | null>;
  for (const { Name: name, Value: value } of user.UserAttributes ?? []) if (name !== undefined && !excluded.has(name)) attributes[name] = value ?? null;
  // The pool's own name for the user: the id may have been an alias (an email) or a sub.
  const groups = await groupsOf(client, source.userPoolId, user.Username ?? username);
  return {
    username: user.Username ?? username,
    status: user.UserStatus ?? null,
    enabled: user.Enabled ?? null,
    createdAt: iso(user.UserCreateDate),
    modifiedAt: iso(user.UserLastModifiedDate),
    attributes,
    mfa: {
      preferred: user.PreferredMfaSetting ?? null,
      enabled: user.UserMFASettingList ?? [],
      options: (user.MFAOptions ?? []).map((o) => ({ deliveryMedium: o.DeliveryMedium ?? null, attributeName: o.AttributeName ?? null })),
    },
    groups: groups.flatMap((g) => (g.GroupName === undefined ? [] : [g.GroupName])),
    ...(source.details?.includes('devices') ? { devices: await devicesOf(client, source.userPoolId, user.Username ?? username, excluded) } : {}),
    ...(source.details?.includes('authEvents') ? { authEvents: await authEventsOf(client, source.userPoolId, user.Username ?? username) } : {}),
  };
}

/** The record's dates (ISO 8601 from toISOString); every other member's type is its JSON type. */
const DATES = new Set(['createdAt', 'modifiedAt']);

/** The record's columns and the type of cell each is in the CSV (attributes, mfa objects; groups an array). */
export function cognitoColumnTypes(record: Record<string, unknown>): [string, ColumnType][] {
  return Object.entries(record).map(([name, value]) => [name, DATES.has(name) && typeof value === 'string' ? temporalType('datetime', value) : jsonValueType(value)]);
}

async function devicesOf(client: CognitoIdentityProviderClient, userPoolId: string, username: string, excluded: Set<string>): Promise<Record<string, unknown>[]> {
  const devices: Record<string, unknown>[] = [];
  let next: string | undefined;
  do {
    const page = await client.send(new AdminListDevicesCommand({ UserPoolId: userPoolId, Username: username, PaginationToken: next, Limit: 60 }));
    for (const device of page.Devices ?? []) {
      const attributes = Object.fromEntries((device.DeviceAttributes ?? []).flatMap((a) => (a.Name === undefined || excluded.has(a.Name) ? [] : [[a.Name, a.Value ?? null]])));
      devices.push({
        key: device.DeviceKey ?? null,
        attributes,
        createdAt: iso(device.DeviceCreateDate),
        modifiedAt: iso(device.DeviceLastModifiedDate),
        lastAuthenticatedAt: iso(device.DeviceLastAuthenticatedDate),
      });
    }
    next = page.PaginationToken;
  } while (next);
  return devices;
}

async function authEventsOf(client: CognitoIdentityProviderClient, userPoolId: string, username: string): Promise<Record<string, unknown>[]> {
  const events: Record<string, unknown>[] = [];
  let next: string | undefined;
  do {
    const page = await client.send(new AdminListUserAuthEventsCommand({ UserPoolId: userPoolId, Username: username, NextToken: next, MaxResults: 60 }));
    for (const event of page.AuthEvents ?? []) {
      events.push({
        id: event.EventId ?? null,
        type: event.EventType ?? null,
        at: iso(event.CreationDate),
        response: event.EventResponse ?? null,
        risk: event.EventRisk ? { level: event.EventRisk.RiskLevel ?? null, decision: event.EventRisk.RiskDecision ?? null } : null,
        context: event.EventContextData
          ? {
              ipAddress: event.EventContextData.IpAddress ?? null,
              device: event.EventContextData.DeviceName ?? null,
              city: event.EventContextData.City ?? null,
              country: event.EventContextData.Country ?? null,
            }
          : null,
        challenges: (event.ChallengeResponses ?? []).map((c) => ({ name: c.ChallengeName ?? null, response: c.ChallengeResponse ?? null })),
      });
    }
    next = page.NextToken;
  } while (next);
  return events;
}
