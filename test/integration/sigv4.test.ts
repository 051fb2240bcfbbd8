// The support routes' IAM check, against signers this project did not write: botocore (Debian's
// python3-botocore, SigV4Auth for execute-api, which sends no x-amz-content-sha256) and the AWS SDK's
// SignatureV4, beside the CLI's own. Each is let in; a changed body, a changed signed header, a signature
// that leaves host or the date unsigned, an old date, and a wrong service or region are refused.
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupportClient } from '../../cli/support-client.ts';
import { EmbeddedStack, LOCAL_REGION } from '../../local/embedded-stack.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'sigv4-'));
const dataMapFile = writeDataMap(dir, [{ id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' }]);
const execFileAsync = promisify(execFile);
const USERS = ['u-boto', 'u-sdk', 'u-cli', 'u-victim', 'u-1002'];

let stack: EmbeddedStack;

beforeAll(async () => {
  stack = await EmbeddedStack.start({ dataMapFile, retryIntervalMs: 0 });
  await stack.loadSeed({ tables: { Users: USERS.map((u) => ({ userId: { S: u }, email: { S: `${u}@example.com` } })) }, schemas: {}, objects: [] });
});

afterAll(async () => {
  await stack?.stop();
});

interface Signable {
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

/** Headers botocore's SigV4Auth adds for this request (run in Debian's Python, botocore from apt). */
function botocoreHeaders(request: Signable, options: { service?: string; region?: string } = {}): Record<string, string> {
  const script = `
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
a = json.load(sys.stdin)
req = AWSRequest(method=a["method"], url=a["url"], data=a["body"].encode("utf-8"), headers=a["headers"])
SigV4Auth(Credentials(a["key"], a["secret"]), a["service"], a["region"]).add_auth(req)
print(json.dumps(dict(req.headers.items())))
`;
  const input = JSON.stringify({
    method: request.method,
    url: `${stack.baseUrl}${request.path}`,
    body: request.body ?? '',
    headers: request.headers ?? {},
    key: stack.identity.supportCredentials.accessKeyId,
    secret: stack.identity.supportCredentials.secretAccessKey,
    service: options.service ?? 'execute-api',
    region: options.region ?? LOCAL_REGION,
  });
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input, encoding: 'utf8' })) as Record<string, string>;
}

/** Headers the AWS SDK's SignatureV4 adds, at `signingDate`. */
async function sdkHeaders(request: Signable, options: { signingDate?: Date; unsignableHeaders?: Set<string> } = {}): Promise<Record<string, string>> {
  const url = new URL(`${stack.baseUrl}${request.path}`);
  const signer = new SignatureV4({ credentials: stack.identity.supportCredentials, region: LOCAL_REGION, service: 'execute-api', sha256: Hash.bind(null, 'sha256') });
  const signed = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { host: url.host, ...request.headers },
      body: request.body,
    }),
    { signingDate: options.signingDate, unsignableHeaders: options.unsignableHeaders },
  );
  const { host: _host, ...headers } = signed.headers;
  return headers;
}

async function send(request: Signable, headers: Record<string, string>, body = request.body) {
  const response = await fetch(`${stack.baseUrl}${request.path}`, { method: request.method, headers, body });
  return { status: response.status, body: (await response.json()) as { message?: string; exportId?: string; exports?: unknown[] } };
}

const start = (userId: string): Signable => ({
  method: 'POST',
  path: '/support/exports',
  body: JSON.stringify({ userId, reason: 'TICKET-9 signing test', format: 'json' }),
  headers: { 'content-type': 'application/json' },
});

describe('SigV4 as API Gateway verifies it', () => {
  it('lets in botocore’s standard SigV4Auth, which sends no x-amz-content-sha256', async () => {
    const list: Signable = { method: 'GET', path: '/support/users/u-boto/exports?limit=5' };
    const headers = botocoreHeaders(list);
    expect(Object.keys(headers).map((h) => h.toLowerCase())).not.toContain('x-amz-content-sha256');
    expect(await send(list, headers)).toMatchObject({ status: 200 });
    // The path as sent, percent-encoding included, is what was signed (and is encoded once more for it).
    const encoded: Signable = { method: 'GET', path: '/support/users/u%2Dboto/exports' };
    expect(await send(encoded, botocoreHeaders(encoded))).toMatchObject({ status: 200 });
    const started = await send(start('u-boto'), botocoreHeaders(start('u-boto')));
    expect(started.status).toBe(202);
    await stack.waitForExport(started.body.exportId ?? '');
  });

  it('lets in curl --aws-sigv4, the README’s recipe for signing by hand', async () => {
    const { accessKeyId, secretAccessKey } = stack.identity.supportCredentials;
    // Asynchronously: the gateway answering curl runs in this process.
    const curl = async (...args: string[]) =>
      (await execFileAsync('curl', ['-s', '-w', '\n%{http_code}', '--aws-sigv4', `aws:amz:${LOCAL_REGION}:execute-api`, '--user', `${accessKeyId}:${secretAccessKey}`, ...args]))
        .stdout;
    expect((await curl(`${stack.baseUrl}/support/users/u-1002/exports`)).split('\n').at(-1)).toBe('200');
    const started = await curl(
      '-H',
      'content-type: application/json',
      '-d',
      JSON.stringify({ userId: 'u-1002', reason: 'TICKET-4711', format: 'json' }),
      `${stack.baseUrl}/support/exports`,
    );
    expect(started.split('\n').at(-1)).toBe('202');
  });

  it('lets in the AWS SDK’s SignatureV4 and the CLI’s signer', async () => {
    expect((await send(start('u-sdk'), await sdkHeaders(start('u-sdk')))).status).toBe(202);
    const cli = new SupportClient({ apiUrl: stack.baseUrl, region: LOCAL_REGION, credentials: stack.identity.supportCredentials });
    expect((await cli.start({ userId: 'u-cli', reason: 'TICKET-9 signing test', format: 'json' })).userId).toBe('u-cli');
  });

  it('refuses a body changed after signing, whatever x-amz-content-sha256 claims, and starts nothing', async () => {
    const signedFor = start('u-1002');
    const forged = start('u-victim').body ?? '';
    const boto = await send(signedFor, botocoreHeaders(signedFor), forged);
    expect(boto.status).toBe(403);
    expect(boto.body.message).toBe('Forbidden: the signature does not match the request.');
    // A signed x-amz-content-sha256 of the original body does not make the forged body acceptable.
    const sdk = await sdkHeaders({ ...signedFor, headers: { ...signedFor.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    expect((await send(signedFor, sdk)).body.message).toBe('Forbidden: x-amz-content-sha256 does not match the body.');
    expect((await send(signedFor, await sdkHeaders(signedFor), forged)).status).toBe(403);
    expect(await stack.jobs.listByUser('u-victim')).toEqual([]);
  });

  it('refuses a signed header changed after signing, and ignores headers that were not signed', async () => {
    const request = start('u-1002');
    const headers = botocoreHeaders(request);
    expect((await send(request, { ...headers, 'Content-Type': 'text/plain' })).status).toBe(403);
    const list: Signable = { method: 'GET', path: '/support/users/u-1002/exports' };
    expect((await send(list, { ...botocoreHeaders(list), 'x-unsigned-extra': 'anything' })).status).toBe(200);
  });

  it('refuses a signature that leaves the date or host unsigned', async () => {
    const list: Signable = { method: 'GET', path: '/support/users/u-1002/exports' };
    const headers = await sdkHeaders(list, { unsignableHeaders: new Set(['x-amz-date']) });
    expect((await send(list, headers)).body.message).toBe('Forbidden: X-Amz-Date must be signed.');
    const noHost = await sdkHeaders(list);
    noHost.authorization = (noHost.authorization ?? '').replace('SignedHeaders=host;', 'SignedHeaders=');
    expect((await send(list, noHost)).body.message).toBe('Forbidden: the host header must be signed.');
  });

  it('refuses a replayed signature from more than 15 minutes ago', async () => {
    const list: Signable = { method: 'GET', path: '/support/users/u-1002/exports' };
    const old = await sdkHeaders(list, { signingDate: new Date(Date.now() - 16 * 60_000) });
    expect((await send(list, old)).body.message).toBe('Forbidden: the signature is more than 15 minutes from the server time.');
    const recent = await sdkHeaders(list, { signingDate: new Date(Date.now() - 5 * 60_000) });
    expect((await send(list, recent)).status).toBe(200);
  });

  it('refuses a signature for another service or region', async () => {
    const list: Signable = { method: 'GET', path: '/support/users/u-1002/exports' };
    expect((await send(list, botocoreHeaders(list, { service: 's3' }))).body.message).toBe('Forbidden: the credential scope names service s3, not execute-api.');
    expect((await send(list, botocoreHeaders(list, { region: 'eu-west-1' }))).body.message).toBe('Forbidden: the credential scope names region eu-west-1, not us-east-1.');
  });
});
