// A small stand-in for API Gateway's HTTP API: turns Node requests into payload-format-2.0 events for
// the same handlers the HTTP API invokes in AWS, and their results back into responses.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RouteAuth } from '../lambdas/core/api/routes.ts';
import type { ReceivedRequest } from './sigv4-verifier.ts';

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface Route {
  method: string;
  /** A path with {param} segments, e.g. /exports/{id}/download */
  path: string;
  handler: () => HttpHandler;
  /** Which authorizer guards the route, as in AWS: a JWT, a SigV4 signature (IAM), or none. */
  auth?: RouteAuth;
}

/** What stands in for API Gateway's authorizers; answers like them (401 / 403) when they refuse. */
export interface GatewayAuthorizers {
  jwt(authorization: string | undefined): Record<string, unknown> | undefined;
  /** The caller, or why API Gateway would refuse the signature (said in the 403, to help whoever signs). */
  iam(request: ReceivedRequest): Promise<{ accessKey: string; userArn: string } | { refused: string }>;
}

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const segment = want[i] ?? '';
    const actual = got[i] ?? '';
    if (segment.startsWith('{') && segment.endsWith('}')) {
      try {
        params[segment.slice(1, -1)] = decodeURIComponent(actual);
      } catch {
        return undefined;
      }
    } else if (segment !== actual) return undefined;
  }
  return params;
}

/** API Gateway's HTTP API refuses a payload over 10 MB with 413 before any integration runs. */
export const GATEWAY_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** The body, or undefined when it exceeds the gateway's limit (the rest is read and dropped, so the client hears the 413). */
async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size <= GATEWAY_MAX_PAYLOAD_BYTES) chunks.push(chunk as Buffer);
  }
  return size > GATEWAY_MAX_PAYLOAD_BYTES ? undefined : Buffer.concat(chunks);
}

function toEvent(request: IncomingMessage, url: URL, route: Route, params: Record<string, string>, body: string): APIGatewayProxyEventV2 {
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
  const query = url.searchParams.size > 0 ? Object.fromEntries(url.searchParams) : undefined;
  return {
    version: '2.0',
    routeKey: `${route.method} ${route.path}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: query,
    pathParameters: Object.keys(params).length > 0 ? params : undefined,
    body: body || undefined,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: url.host,
      domainPrefix: 'local',
      requestId: crypto.randomUUID(),
      routeKey: `${route.method} ${route.path}`,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: request.headers['user-agent'] ?? '',
      },
    },
  };
}

const context = (name: string) => ({ functionName: name, awsRequestId: crypto.randomUUID(), getRemainingTimeInMillis: () => 29_000 }) as unknown as Context;

export class HttpGateway {
  private readonly server: Server;
  private readonly routes: Route[] = [];

  constructor(private readonly authorizers?: GatewayAuthorizers) {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch(() => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('The local gateway could not handle this request.');
      });
    });
  }

  add(route: Route): void {
    this.routes.push(route);
  }

  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Fills requestContext.authorizer as API Gateway does, or says how API Gateway would refuse. */
  private async authorize(route: Route, event: APIGatewayProxyEventV2, request: IncomingMessage, body: Buffer): Promise<{ status: number; message: string } | undefined> {
    const auth = route.auth ?? 'none';
    if (auth === 'none') return undefined;
    if (!this.authorizers) return { status: 500, message: 'The local gateway has no authorizers.' };
    const context = event.requestContext as unknown as { authorizer?: unknown };
    if (auth === 'jwt') {
      const claims = this.authorizers.jwt(event.headers.authorization);
      if (!claims) return { status: 401, message: 'Unauthorized' };
      context.authorizer = { jwt: { claims, scopes: null } };
      return undefined;
    }
    // The request as received: raw target, every header value, the body's bytes (what API Gateway signs over).
    const principal = await this.authorizers.iam({ method: request.method ?? 'GET', target: request.url ?? '/', rawHeaders: request.rawHeaders, body });
    if ('refused' in principal) return { status: 403, message: `Forbidden: ${principal.refused}.` };
    context.authorizer = {
      iam: { accessKey: principal.accessKey, accountId: '000000000000', callerId: principal.accessKey, userArn: principal.userArn, userId: principal.accessKey },
    };
    return undefined;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // The Host header as sent: SigV4 signs it, port included.
    const url = new URL(request.url ?? '/', `http://${request.headers.host ?? '127.0.0.1'}`);
    for (const route of this.routes) {
      if (route.method !== request.method) continue;
      const params = matchPath(route.path, url.pathname);
      if (!params) continue;
      const body = await readBody(request);
      if (!body) {
        response.writeHead(413, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message: 'Request Entity Too Large' }));
        return;
      }
      const event = toEvent(request, url, route, params, body.toString('utf8'));
      const refusal = await this.authorize(route, event, request, body);
      if (refusal) {
        response.writeHead(refusal.status, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message: refusal.message }));
        return;
      }
      const result = await route.handler()(event, context(route.path));
      const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
      response.writeHead(result.statusCode ?? 200, headers);
      response.end(result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : (result.body ?? ''));
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ message: 'Not Found' }));
  }
}
