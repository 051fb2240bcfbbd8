// The account page's API (JWT authorizer): the user is the token's subject, never a body field. Its
// routes are USER_ROUTES (core/api/routes.ts).
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type { Workflow } from './core/lifecycle/export-lifecycle.ts';
import { exportsApiDeps } from './core/api/exports-api-deps.ts';
import { cancelExport, exportsOf, exportView, resendLink, startBodySchema, startOrReuse, visibleJob } from './core/api/exports-api.ts';
import { HttpError, json, parseBody, respond, type HttpResult } from './core/api/http.ts';
import { dispatch, type RouteTable, type USER_ROUTES } from './core/api/routes.ts';
import { userIdSchema } from './core/data-map/identifiers.ts';
import type { Actor } from './core/jobs/job-store.ts';
import { observe } from './core/platform/observability.ts';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

type UserRoute = (typeof USER_ROUTES)[number];

export function createUserApiHandler(runtime: Runtime, workflow?: Workflow) {
  const deps = exportsApiDeps(runtime, workflow);

  async function route(event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<HttpResult> {
    const claims = event.requestContext?.authorizer?.jwt?.claims ?? {};
    // The subject becomes the user id of every key and prefix: one this service cannot hold is no sign-in.
    if (typeof claims.sub !== 'string' || !userIdSchema.safeParse(claims.sub).success) throw new HttpError(401, 'Sign in to manage your data exports.');
    const me: Actor = { id: claims.sub, role: 'user' };
    const id = event.pathParameters?.id ?? '';
    const actions: RouteTable<UserRoute, typeof event, HttpResult> = {
      'POST /exports': async () => {
        const body = parseBody(event, startBodySchema);
        const email = typeof claims.email === 'string' ? claims.email : undefined;
        const { created, job } = await startOrReuse({ userId: me.id, body, email, actor: me }, deps);
        return json(created ? 202 : 200, await exportView(job, deps), { location: `/exports/${job.exportId}` });
      },
      'GET /exports': async () => json(200, { exports: await Promise.all((await exportsOf(me.id, deps)).map((job) => exportView(job, deps))) }),
      'GET /exports/{id}': async () => json(200, await exportView(await visibleJob(id, me, deps), deps)),
      'POST /exports/{id}/resend': async () => json(200, await exportView(await resendLink(await visibleJob(id, me, deps), me, deps), deps)),
      'DELETE /exports/{id}': async () => json(200, await exportView(await cancelExport(await visibleJob(id, me, deps), me, deps), deps)),
    };
    return dispatch(actions, event);
  }

  return middy<APIGatewayProxyEventV2WithJWTAuthorizer, HttpResult>()
    .use(observe(runtime, 'UserApi'))
    .handler((event) => respond(runtime.logger, () => route(event), runtime.clock));
}

export const handler = lambdaEntry((runtime) => createUserApiHandler(runtime));
