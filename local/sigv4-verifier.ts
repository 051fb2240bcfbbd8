// SigV4 verification as API Gateway's IAM authorizer does it, for the embedded stack's support routes.
// It builds the canonical request from the request exactly as received (raw path and query, every value
// of each signed header, the body's own bytes) and never from what the client claims about it: the
// payload hash is computed from the body, and an x-amz-content-sha256 header, when signed, must equal it.
// Only the signed headers take part; host and the date must be among them; the credential scope must
// name this region, execute-api and the signing day; the signature is good for 15 minutes either side.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNING_SERVICE = 'execute-api';
const ALGORITHM = 'AWS4-HMAC-SHA256';
/** How far the signing time may be from now, either way (AWS allows 15 minutes). */
const CLOCK_SKEW_MS = 15 * 60_000;

export interface ReceivedRequest {
  method: string;
  /** The request-target as sent: path and query, still percent-encoded. */
  target: string;
  /** Header names and values in the order received, as Node's rawHeaders gives them. */
  rawHeaders: string[];
  body: Buffer;
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type Verdict = { ok: true; accessKeyId: string } | { ok: false; reason: string };

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding, as SigV4 specifies: everything but unreserved characters. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The path with "." and ".." resolved and empty segments dropped, then encoded once more (SigV4 for every service but S3). */
function canonicalUri(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const path = `/${segments.join('/')}${segments.length > 0 && rawPath.endsWith('/') ? '/' : ''}`;
  return path
    .split('/')
    .map((segment) => encode(segment))
    .join('/');
}

function canonicalQuery(rawQuery: string): string | undefined {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const key = decode(equals < 0 ? part : part.slice(0, equals));
    const value = decode(equals < 0 ? '' : part.slice(equals + 1));
    if (key === undefined || value === undefined) return undefined;
    pairs.push([encode(key), encode(value)]);
  }
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Every value of each header, in order, joined with commas (how repeated headers are canonicalized). */
function headerValues(rawHeaders: string[]): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    values.set(name, [...(values.get(name) ?? []), rawHeaders[i + 1] ?? '']);
  }
  return values;
}

const trimValue = (value: string) => value.trim().replace(/ +/g, ' ');

const AUTHORIZATION = /^AWS4-HMAC-SHA256 +Credential=([^,\s]+) *, *SignedHeaders=([^,\s]+) *, *Signature=([0-9a-f]{64})$/;

/** Verifies a request against one known set of credentials. */
export function verifySigV4(request: ReceivedRequest, credentials: Credentials, region: string, now = new Date()): Verdict {
  const headers = headerValues(request.rawHeaders);
  const single = (name: string) => (headers.get(name) ?? []).join(',');
  const authorization = headers.get('authorization') ?? [];
  if (authorization.length !== 1) return { ok: false, reason: 'exactly one Authorization header is required' };
  const match = AUTHORIZATION.exec(authorization[0]?.trim() ?? '');
  if (!match) return { ok: false, reason: 'the Authorization header is not an AWS4-HMAC-SHA256 signature' };
  const [, credential = '', signedHeaderList = '', signature = ''] = match;
  const [accessKeyId, day, scopeRegion, service, terminator, ...extra] = credential.split('/');
  if (extra.length > 0 || terminator !== 'aws4_request') return { ok: false, reason: 'the credential scope is malformed' };
  if (accessKeyId !== credentials.accessKeyId) return { ok: false, reason: 'the access key is not known' };
  if (scopeRegion !== region) return { ok: false, reason: `the credential scope names region ${scopeRegion ?? '?'}, not ${region}` };
  if (service !== SIGNING_SERVICE) return { ok: false, reason: `the credential scope names service ${service ?? '?'}, not ${SIGNING_SERVICE}` };

  const signedHeaders = signedHeaderList.split(';');
  const sorted = [...new Set(signedHeaders)].sort();
  if (signedHeaders.join(';') !== sorted.join(';') || signedHeaders.some((h) => h !== h.toLowerCase() || h === '')) {
    return { ok: false, reason: 'SignedHeaders must be lowercase, sorted and without repeats' };
  }
  if (!signedHeaders.includes('host')) return { ok: false, reason: 'the host header must be signed' };
  const missing = signedHeaders.find((h) => !headers.has(h));
  if (missing) return { ok: false, reason: `the signed header ${missing} is not in the request` };

  const amzDate = single('x-amz-date');
  if (!/^\d{8}T\d{6}Z$/.test(amzDate)) return { ok: false, reason: 'X-Amz-Date is missing or not in the basic ISO 8601 form' };
  if (!signedHeaders.includes('x-amz-date')) return { ok: false, reason: 'X-Amz-Date must be signed' };
  if (amzDate.slice(0, 8) !== day) return { ok: false, reason: 'the credential scope date is not the day of X-Amz-Date' };
  const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(now.getTime() - signedAt) > CLOCK_SKEW_MS) return { ok: false, reason: 'the signature is more than 15 minutes from the server time' };

  const token = headers.get('x-amz-security-token');
  if (token !== undefined && (credentials.sessionToken === undefined || token.join(',') !== credentials.sessionToken)) {
    return { ok: false, reason: 'the security token is not valid for this access key' };
  }

  const payloadHash = sha256(request.body);
  const claimed = headers.get('x-amz-content-sha256');
  if (claimed !== undefined && signedHeaders.includes('x-amz-content-sha256') && trimValue(claimed.join(',')) !== payloadHash) {
    return { ok: false, reason: 'x-amz-content-sha256 does not match the body' };
  }

  const question = request.target.indexOf('?');
  const rawPath = question < 0 ? request.target : request.target.slice(0, question);
  const query = canonicalQuery(question < 0 ? '' : request.target.slice(question + 1));
  if (query === undefined) return { ok: false, reason: 'the query string is not valid percent-encoding' };
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${(headers.get(h) ?? []).map(trimValue).join(',')}\n`).join('');
  const canonicalRequest = [request.method.toUpperCase(), canonicalUri(rawPath), query, canonicalHeaders, signedHeaderList, payloadHash].join('\n');
  const scope = `${day}/${region}/${SIGNING_SERVICE}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), SIGNING_SERVICE), 'aws4_request');
  const expected = hmac(key, stringToSign);
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'the signature does not match the request' };
  return { ok: true, accessKeyId: credentials.accessKeyId };
}
