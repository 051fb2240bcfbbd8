// SigV4 for the support API (IAM auth): the CLI signs its requests with standard AWS credentials, and
// the embedded stack verifies them the way API Gateway would, by signing again and comparing.
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';
import { timingSafeEqual } from 'node:crypto';

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

/**
 * Verifies a SigV4-signed request against one known set of credentials: re-signs exactly the headers the
 * client signed, at the time it signed, and compares in constant time. Returns the access key id.
 */
export async function verifySignedRequest(
  request: PlainRequest,
  credentials: AwsCredentialIdentity,
  region: string,
  now = new Date(),
): Promise<string | undefined> {
  const authorization = request.headers.authorization ?? '';
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/[^,]+, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(authorization);
  const amzDate = request.headers['x-amz-date'] ?? '';
  if (!match || match[1] !== credentials.accessKeyId || !/^\d{8}T\d{6}Z$/.test(amzDate)) return undefined;
  const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  // Like AWS: a signature is good for 15 minutes either side.
  if (Math.abs(now.getTime() - signingDate.getTime()) > 15 * 60_000) return undefined;
  const signedHeaders = (match[3] ?? '').split(';');
  const headers = Object.fromEntries(signedHeaders.filter((h) => h !== 'host').map((h) => [h, request.headers[h] ?? '']));
  const expected = await signer(credentials, region).sign(toHttpRequest({ ...request, headers }), { signingDate });
  const want = Buffer.from(/Signature=([0-9a-f]{64})/.exec(expected.headers.authorization ?? '')?.[1] ?? '', 'hex');
  const got = Buffer.from(match[4] ?? '', 'hex');
  return want.length === 32 && got.length === 32 && timingSafeEqual(want, got) ? credentials.accessKeyId : undefined;
}
