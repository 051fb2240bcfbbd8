// The HTTP API's routes, one list for the CDK construct and the local gateway, so the two cannot drift.
export type RouteAuth = 'jwt' | 'iam' | 'none';
export interface RouteSpec {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
}

export const USER_ROUTES: readonly RouteSpec[] = [
  { method: 'POST', path: '/exports' },
  { method: 'GET', path: '/exports' },
  { method: 'GET', path: '/exports/{id}' },
  { method: 'POST', path: '/exports/{id}/resend' },
  { method: 'DELETE', path: '/exports/{id}' },
];

export const SUPPORT_ROUTES: readonly RouteSpec[] = [
  { method: 'POST', path: '/support/exports' },
  { method: 'GET', path: '/support/exports/{id}' },
  { method: 'POST', path: '/support/exports/{id}/resend' },
  { method: 'DELETE', path: '/support/exports/{id}' },
  { method: 'GET', path: '/support/users/{userId}/exports' },
  { method: 'GET', path: '/support/users/{userId}/audit' },
];

export const DOWNLOAD_ROUTE: RouteSpec = { method: 'GET', path: '/exports/{id}/download' };
