// The support API (IAM auth): an agent acts for a customer (a locked or suspended one too), always with
// a reason, which the audit trail records with the agent's identity. Its routes are SUPPORT_ROUTES
// (core/api/routes.ts).
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import * as z from 'zod';
import type { Workflow } from './core/lifecycle/export-lifecycle.ts';
import { exportsApiDeps } from './core/api/exports-api-deps.ts';
import { cancelExport, exportsOf, exportView, reasonSchema, resendLink, startBodySchema, startOrReuse, userExists, visibleJob } from './core/api/exports-api.ts';
import { HttpError, json, parseBody, respond, type HttpResult } from './core/api/http.ts';
import { dispatch, type RouteTable, type SUPPORT_ROUTES } from './core/api/routes.ts';
import { userIdSchema } from './core/data-map/identifiers.ts';
import { MAX_AUDIT_PAGE, type Actor } from './core/jobs/job-store.ts';
import { observe } from './core/platform/observability.ts';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

const supportStartSchema = startBodySchema.extend({ userId: userIdSchema, reason: reasonSchema });
// Resend and cancel record a reason when one is given; starting an export always needs one.
const reasonBody = z.object({ reason: reasonSchema.optional() }).strict();

/** The audit route's paging: ?limit=1…100 (default 50) and the previous page's nextCursor. */
const auditQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE, `must be at most ${MAX_AUDIT_PAGE}`).default(50), cursor: z.string().max(400).optional() })
  .strict();

type SupportRoute = (typeof SUPPORT_ROUTES)[number];

export function createSupportApiHandler(runtime: Runtime, workflow?: Workflow) {
  const deps = exportsApiDeps(runtime, workflow);

  /** Every support route answers a user id that names no account alike. */
  async function assertKnown(userId: string): Promise<string> {
    if (!(await userExists(userId, deps))) throw new HttpError(404, `There is no account with user id "${userId}"; check the id in the support ticket.`);
    return userId;
  }

  /** The user id of the path, valid and naming an account. */
  function knownUser(raw: string | undefined): Promise<string> {
    const parsed = userIdSchema.safeParse(raw ?? '');
    if (!parsed.success) throw new HttpError(400, `The user id ${parsed.error.issues[0]?.message ?? 'is not valid'}.`);
    return assertKnown(parsed.data);
  }

  async function route(event: APIGatewayProxyEventV2WithIAMAuthorizer): Promise<HttpResult> {
    const iam = event.requestContext?.authorizer?.iam;
    const agent = iam?.userArn ?? iam?.callerId;
    if (!agent) throw new HttpError(403, 'Support routes need requests signed by a support role.');
    const as = (reason?: string): Actor => ({ id: agent, role: 'support', reason });
    const id = event.pathParameters?.id ?? '';
    const actions: RouteTable<SupportRoute, typeof event, HttpResult> = {
      'POST /support/exports': async () => {
        const { userId, reason, ...body } = parseBody(event, supportStartSchema);
        await assertKnown(userId);
        const { created, job } = await startOrReuse({ userId, body, actor: as(reason) }, deps);
        return json(created ? 202 : 200, await exportView(job, deps), { location: `/support/exports/${job.exportId}` });
      },
      'GET /support/exports/{id}': async () => json(200, await exportView(await visibleJob(id, { id: agent, role: 'support' }, deps), deps)),
      'POST /support/exports/{id}/resend': async () => {
        const { reason } = parseBody(event, reasonBody);
        return json(200, await exportView(await resendLink(await visibleJob(id, as(reason), deps), as(reason), deps), deps));
      },
      'DELETE /support/exports/{id}': async () => {
        const { reason } = parseBody(event, reasonBody);
        return json(200, await exportView(await cancelExport(await visibleJob(id, as(reason), deps), as(reason), deps), deps));
      },
      'GET /support/users/{userId}/exports': async () =>
        json(200, { exports: await Promise.all((await exportsOf(await knownUser(event.pathParameters?.userId), deps)).map((job) => exportView(job, deps))) }),
      'GET /support/users/{userId}/audit': async () => {
        const userId = await knownUser(event.pathParameters?.userId);
        const query = auditQuery.safeParse(event.queryStringParameters ?? {});
        if (!query.success) throw new HttpError(400, `The query is not valid: ${query.error.issues.map((i) => `"${i.path.join('.')}" ${i.message}`).join('; ')}.`);
        return json(200, await deps.jobs.auditPage(userId, query.data));
      },
    };
    return dispatch(actions, event);
  }

  return middy<APIGatewayProxyEventV2WithIAMAuthorizer, HttpResult>()
    .use(observe(runtime, 'SupportApi'))
    .handler((event) => respond(runtime.logger, () => route(event), runtime.clock));
}

export const handler = lambdaEntry((runtime) => createSupportApiHandler(runtime));
