// SigV4 for the support API (IAM auth): the CLI signs its requests with standard AWS credentials
// (local/sigv4-verifier.ts checks them on the embedded stack the way API Gateway does).
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';

const SERVICE = 'execute-api';

export interface PlainRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

function signer(credentials: AwsCredentialIdentity, region: string): SignatureV4 {
  return new SignatureV4({ credentials, region, service: SERVICE, sha256: Hash.bind(null, 'sha256'), uriEscapePath: true });
}

function toHttpRequest(request: PlainRequest): HttpRequest {
  return new HttpRequest({
    method: request.method,
    protocol: request.url.protocol,
    hostname: request.url.hostname,
    port: request.url.port ? Number(request.url.port) : undefined,
    path: request.url.pathname,
    query: Object.fromEntries(request.url.searchParams),
    headers: { ...request.headers, host: request.url.host },
    body: request.body,
  });
}

/** The headers to send with the request: Authorization, X-Amz-Date and, for temporary credentials, the token. */
export async function signRequest(request: PlainRequest, credentials: AwsCredentialIdentity, region: string): Promise<Record<string, string>> {
  const signed = await signer(credentials, region).sign(toHttpRequest(request));
  return signed.headers;
}

/** The region of an execute-api URL (https://abc.execute-api.eu-west-1.amazonaws.com). */
export function regionOfApi(url: URL, fallback: string): string {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1] ?? fallback;
}
