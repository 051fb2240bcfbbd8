// HTTP API plumbing shared by the user and support APIs: JSON bodies validated by zod (a 400 names the
// field), errors mapped to status codes with a sentence, and never a stack trace in a response.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { z } from 'zod';
import { ConflictError, CooldownError, ExpiredError, ExportInProgressError, InvalidRequestError, NotFoundError } from '../platform/errors.ts';
import type { Clock } from '../platform/clock.ts';
import type { LogSink } from '../platform/observability.ts';

export type HttpResult = APIGatewayProxyStructuredResultV2;

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * The largest body any route takes. The biggest valid one (a support start: a user id, a reason of 500
 * characters, eight categories) is under 3 KiB; 16 KiB leaves room and keeps every job row far below
 * DynamoDB's 400 KB item limit.
 */
export const MAX_BODY_BYTES = 16 * 1024;

/** Parses the JSON body with a strict schema; the 400 names every wrong or unknown field, a 413 a body too large. */
export function parseBody<S extends z.ZodType>(event: APIGatewayProxyEventV2, schema: S): z.infer<S> {
  let raw: unknown = {};
  if (event.body) {
    const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
    if (bytes.length > MAX_BODY_BYTES) {
      throw new HttpError(413, `The request body is ${bytes.length} bytes; this API takes at most ${MAX_BODY_BYTES} bytes (16 KiB).`);
    }
    const text = bytes.toString('utf8');
    try {
      raw = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'The request body is not valid JSON.');
    }
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const field = i.path.join('.');
      if (i.code === 'unrecognized_keys') return `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
      return field ? `"${field}" ${i.message}` : i.message;
    });
    throw new HttpError(400, `The request is not valid: ${problems.join('; ')}.`);
  }
  return result.data;
}

/** Runs a route and turns whatever it throws into a response a person can act on. */
export async function respond(logger: LogSink, route: () => Promise<HttpResult>, now: Clock): Promise<HttpResult> {
  try {
    return await route();
  } catch (error) {
    if (error instanceof HttpError) return json(error.status, { message: error.message }, error.headers);
    if (error instanceof InvalidRequestError) return json(400, { message: error.message });
    if (error instanceof ExportInProgressError) return json(409, { message: error.message, activeExportId: error.activeExportId });
    if (error instanceof NotFoundError) return json(404, { message: error.message });
    if (error instanceof ConflictError) return json(409, { message: error.message });
    if (error instanceof ExpiredError) return json(410, { message: error.message });
    if (error instanceof CooldownError) {
      const seconds = Math.max(1, Math.ceil((error.availableAt.getTime() - now().getTime()) / 1000));
      return json(429, { message: error.message, availableAt: error.availableAt.toISOString() }, { 'retry-after': String(seconds) });
    }
    logger.error('Request failed', error as Error);
    return json(500, { message: 'Something went wrong on our side. Please try again in a few minutes.' });
  }
}
