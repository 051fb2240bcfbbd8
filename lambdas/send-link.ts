// SendLink: job READY, a signed download link, and the email that carries it.
import middy from '@middy/core';
import * as z from 'zod';
import { parseEnv, pickEnv } from './core/platform/config.ts';
import { loadDataMapFile } from './core/data-map/data-map.ts';
import { deliverLink, type DeliverRequest } from './core/lifecycle/export-lifecycle.ts';
import { exportIdSchema, userIdSchema } from './core/data-map/identifiers.ts';
import { JOB_STORE_ENV, jobStoreFrom } from './core/jobs/job-store.ts';
import { logFailures, parseEvent } from './core/platform/middleware.ts';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

const event = z.object({
  exportId: exportIdSchema,
  userId: userIdSchema,
  archiveKey: z.string().min(1),
  archiveBytes: z.number().int().min(0),
  archiveParts: z.number().int().min(1).default(1),
  entryBytes: z.number().int().min(0).default(0),
  fileCount: z.number().int().min(0),
  records: z.record(z.string(), z.number().int().min(0)),
});

export function createSendLinkHandler(runtime: Runtime) {
  const config = parseEnv(pickEnv(...JOB_STORE_ENV, 'DATA_MAP_FILE', 'SENDER_EMAIL', 'PUBLIC_BASE_URL', 'LINK_TTL_HOURS'), runtime.env);
  const deps = {
    jobs: jobStoreFrom(runtime.clients.dynamodb, config),
    signer: runtime.signer,
    ses: runtime.clients.ses,
    dataMap: loadDataMapFile(config.DATA_MAP_FILE),
    settings: { sender: config.SENDER_EMAIL, publicBaseUrl: config.PUBLIC_BASE_URL, linkTtlSeconds: config.LINK_TTL_HOURS * 3600 },
    metric: runtime.metric,
  };
  return middy<DeliverRequest, Awaited<ReturnType<typeof deliverLink>>>()
    .use(logFailures(runtime.log, 'SendLink'))
    .use(parseEvent(event))
    .handler((input) => deliverLink(input, deps));
}

export const handler = lambdaEntry(createSendLinkHandler);
