// The HTTP API's routes, one table for the CDK construct, the local gateway and the handlers: each
// handler maps exactly these keys to its actions (the compiler checks it), so the three cannot drift.
import { HttpError } from './http.ts';

export type RouteAuth = 'jwt' | 'iam' | 'none';
export interface RouteSpec {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
}

/** The account page's routes (JWT authorizer); the user is always the token's subject. */
export const USER_ROUTES = [
  'POST /exports', //           start an export of my data (or get the one already running)
  'GET /exports', //            my exports, newest first
  'GET /exports/{id}', //       one of my exports: status, progress per source, size, link expiry
  'POST /exports/{id}/resend', // email me a fresh link (the old one stops working)
  'DELETE /exports/{id}', //    cancel my running export
] as const;

/** The support routes (IAM authorizer): an agent acting for a customer, with a reason. */
export const SUPPORT_ROUTES = [
  'POST /support/exports', //                {userId, reason, format?, categories?, since?, until?}
  'GET /support/exports/{id}',
  'POST /support/exports/{id}/resend', //    {reason}
  'DELETE /support/exports/{id}', //         {reason}
  'GET /support/users/{userId}/exports',
  'GET /support/users/{userId}/audit', //    ?limit&cursor
] as const;

export const DOWNLOAD_ROUTE = 'GET /exports/{id}/download';

export type RouteKey = (typeof USER_ROUTES)[number] | (typeof SUPPORT_ROUTES)[number] | typeof DOWNLOAD_ROUTE;

/** The method and path of a route key ("POST /exports"), as API Gateway writes it. */
export function routeSpec(key: RouteKey): RouteSpec {
  const [method, path] = key.split(' ') as [RouteSpec['method'], string];
  return { method, path };
}

/** A handler's actions, one for each of its routes; the key not in the table is refused before it. */
export type RouteTable<K extends RouteKey, E, R> = Record<K, (event: E) => Promise<R>>;

/** Runs the table's action for the event's route key; a key not in the table (API Gateway would not route it) is a 404. */
export function dispatch<K extends RouteKey, E extends { routeKey?: string }, R>(table: RouteTable<K, E, R>, event: E): Promise<R> {
  const key = event.routeKey;
  if (key === undefined || !Object.hasOwn(table, key)) throw new HttpError(404, 'No such route.');
  return table[key as K](event);
}
