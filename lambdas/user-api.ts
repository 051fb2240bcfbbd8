// The account page's API (JWT authorizer): the user is the token's subject, never a body field.
//   POST /exports          start an export of my data (or get the one already running)
//   GET  /exports          my exports, newest first
//   GET  /exports/{id}     one of my exports: status, progress, size, link expiry
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { exportsApiDeps, publicView, startBodySchema, startOrReuse } from './core/exports-api.ts';
import { HttpError, json, parseBody, respond, type HttpResult } from './core/http.ts';
import { lambdaEntry, type Runtime } from './core/runtime.ts';
import type { WorkflowStarter } from './core/export-lifecycle.ts';

export function createUserApiHandler(runtime: Runtime, workflow?: WorkflowStarter) {
  const deps = exportsApiDeps(runtime, workflow);
  const { jobs } = deps;

  async function route(event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<HttpResult> {
    const claims = event.requestContext?.authorizer?.jwt?.claims ?? {};
    const userId = typeof claims.sub === 'string' ? claims.sub : undefined;
    if (!userId) throw new HttpError(401, 'Sign in to manage your data exports.');
    switch (event.routeKey) {
      case 'POST /exports': {
        const body = parseBody(event, startBodySchema);
        const email = typeof claims.email === 'string' ? claims.email : undefined;
        const { created, job } = await startOrReuse({ userId, body, email, actor: { id: userId, role: 'user' } }, deps);
        return json(created ? 202 : 200, publicView(job), { location: `/exports/${job.exportId}` });
      }
      case 'GET /exports':
        return json(200, { exports: (await jobs.listByUser(userId)).map(publicView) });
      case 'GET /exports/{id}': {
        const job = await jobs.get(event.pathParameters?.id ?? '');
        // Someone else's export answers exactly like a missing one: its existence is not ours to reveal.
        if (!job || job.userId !== userId) throw new HttpError(404, 'There is no export with this id in your account.');
        return json(200, publicView(job));
      }
      default:
        throw new HttpError(404, 'No such route.');
    }
  }

  return middy<APIGatewayProxyEventV2WithJWTAuthorizer, HttpResult>().handler((event) => respond(runtime.log, () => route(event)));
}

export const handler = lambdaEntry((runtime) => createUserApiHandler(runtime));
