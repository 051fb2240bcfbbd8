// The support API (IAM auth): an agent starts or follows an export for a customer, with a reason.
//   POST /support/exports        {userId, reason, format?, categories?}
//   GET  /support/exports/{id}
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import * as z from 'zod';
import type { WorkflowStarter } from './core/export-lifecycle.ts';
import { exportsApiDeps, publicView, startBodySchema, startOrReuse } from './core/exports-api.ts';
import { HttpError, json, parseBody, respond, type HttpResult } from './core/http.ts';
import { userIdSchema } from './core/identifiers.ts';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

const supportStartSchema = startBodySchema.extend({
  userId: userIdSchema,
  reason: z.string().trim().min(3, 'must say why, e.g. the ticket number').max(500),
});

export function createSupportApiHandler(runtime: Runtime, workflow?: WorkflowStarter) {
  const deps = exportsApiDeps(runtime, workflow);
  const { jobs } = deps;

  async function route(event: APIGatewayProxyEventV2WithIAMAuthorizer): Promise<HttpResult> {
    const iam = event.requestContext?.authorizer?.iam;
    const agent = iam?.userArn ?? iam?.callerId;
    if (!agent) throw new HttpError(403, 'Support routes need signed requests from a support role.');
    switch (event.routeKey) {
      case 'POST /support/exports': {
        const { userId, reason, ...body } = parseBody(event, supportStartSchema);
        const { created, job } = await startOrReuse({ userId, body, actor: { id: agent, role: 'support', reason } }, deps);
        return json(created ? 202 : 200, publicView(job), { location: `/support/exports/${job.exportId}` });
      }
      case 'GET /support/exports/{id}': {
        const job = await jobs.get(event.pathParameters?.id ?? '');
        if (!job) throw new HttpError(404, 'There is no export with this id.');
        return json(200, publicView(job));
      }
      default:
        throw new HttpError(404, 'No such route.');
    }
  }

  return middy<APIGatewayProxyEventV2WithIAMAuthorizer, HttpResult>().handler((event) => respond(runtime.log, () => route(event)));
}

export const handler = lambdaEntry((runtime) => createSupportApiHandler(runtime));
