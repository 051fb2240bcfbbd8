// SendLink: job READY, a signed download link, and the email that carries it.
import middy from '@middy/core';
import * as z from 'zod';
import { parseEnv, pickEnv } from './core/platform/config.ts';
import { loadDataMapFile } from './core/data-map/data-map.ts';
import { deliverLink, type DeliverRequest } from './core/lifecycle/export-lifecycle.ts';
import { exportIdSchema, userIdSchema } from './core/data-map/identifiers.ts';
import { JOB_STORE_ENV, jobStoreFrom } from './core/jobs/job-store.ts';
import { parseEvent } from './core/platform/middleware.ts';
import { metricSink, observe } from './core/platform/observability.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { lambdaEntry, linkSigner, type Runtime } from './core/runtime.ts';

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
    jobs: jobStoreFrom(runtime.client(DynamoDBClient), config, runtime.clock),
    signer: linkSigner(runtime),
    ses: runtime.client(SESv2Client),
    dataMap: loadDataMapFile(config.DATA_MAP_FILE),
    settings: { sender: config.SENDER_EMAIL, publicBaseUrl: config.PUBLIC_BASE_URL, linkTtlSeconds: config.LINK_TTL_HOURS * 3600 },
    metrics: metricSink(runtime.metrics),
    now: runtime.clock,
  };
  return middy<DeliverRequest, Awaited<ReturnType<typeof deliverLink>>>()
    .use(observe(runtime, 'SendLink'))
    .use(parseEvent(event))
    .handler((input) => deliverLink(input, deps));
}

export const handler = lambdaEntry(createSendLinkHandler);
