// GET /exports/{id}/download?token=… (HTTP API, no authorizer: the signed token is the credential).
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parseEnv, pickEnv } from './core/platform/config.ts';
import { handleDownload } from './core/delivery/download.ts';
import { escapeHtml } from './core/delivery/wording.ts';
import { JOB_STORE_ENV, jobStoreFrom } from './core/jobs/job-store.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { observe } from './core/platform/observability.ts';
import { lambdaEntry, linkSigner, type Runtime } from './core/runtime.ts';

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
};

function page(status: number, title: string, message: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8' },
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5">
<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`,
  };
}

export function createDownloadHandler(runtime: Runtime) {
  const config = parseEnv(pickEnv(...JOB_STORE_ENV, 'EXPORT_BUCKET', 'RETENTION_DAYS'), runtime.env);
  const deps = {
    jobs: jobStoreFrom(runtime.client(DynamoDBClient), config, runtime.clock),
    signer: linkSigner(runtime),
    s3: runtime.client(S3Client),
    bucket: config.EXPORT_BUCKET,
    retentionDays: config.RETENTION_DAYS,
    now: runtime.clock,
  };
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(observe(runtime, 'Download'))
    .onError((request) => {
      // Whatever broke (observe logged it), the person clicking the link gets a sentence, never a stack trace.
      request.response = page(500, 'Download unavailable', 'We could not prepare your download just now. Please try the link again in a few minutes.');
    })
    .handler(async (event) => {
      const outcome = await handleDownload(
        {
          exportId: event.pathParameters?.id ?? '',
          token: event.queryStringParameters?.token,
          part: event.queryStringParameters?.part,
          ip: event.requestContext?.http?.sourceIp,
          userAgent: event.requestContext?.http?.userAgent,
        },
        deps,
      );
      if (outcome.kind === 'redirect') return { statusCode: 302, headers: { ...SECURITY_HEADERS, location: outcome.location }, body: '' };
      return page(outcome.status, outcome.title, outcome.message);
    });
}

export const handler = lambdaEntry(createDownloadHandler);
