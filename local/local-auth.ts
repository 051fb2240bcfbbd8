// The embedded stack's stand-ins for API Gateway's authorizers, so the same handlers see the same
// requestContext as in AWS: a local sign-in that issues RS256 JWTs, verified like the JWT authorizer does
// (signature, issuer, audience, expiry), and SigV4 verification for the support routes (IAM auth).
import { createSign, createVerify, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { AwsCredentialIdentity } from '@smithy/types';

export const LOCAL_ISSUER = 'http://localhost/user-data-export';
export const LOCAL_AUDIENCE = 'account-page';

export interface JwtClaims {
  sub: string;
  email?: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  [claim: string]: unknown;
}

const b64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');

export class LocalIdentityProvider {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  /** The one support identity of the embedded stack; the CLI signs with it in --local mode. */
  readonly supportCredentials: AwsCredentialIdentity;
  readonly supportArn = 'arn:aws:iam::000000000000:user/local-support-agent';

  constructor() {
    ({ privateKey: this.privateKey, publicKey: this.publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 }));
    this.supportCredentials = { accessKeyId: `AKIALOCAL${randomBytes(6).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64') };
  }

  /** Signs a user in (locally anyone may be anyone: this is the account page's identity provider stand-in). */
  issueToken(sub: string, email: string | undefined, lifetimeSeconds = 3600): string {
    const now = Math.floor(Date.now() / 1000);
    const claims: JwtClaims = { sub, email, iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, iat: now, exp: now + lifetimeSeconds };
    const unsigned = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'local' }))}.${b64url(JSON.stringify(claims))}`;
    return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(this.privateKey).toString('base64url')}`;
  }

  /** The claims of a valid bearer token, or undefined (the JWT authorizer then answers 401). */
  verifyToken(authorization: string | undefined): JwtClaims | undefined {
    const token = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '')?.[1];
    if (!token) return undefined;
    const [header, payload, signature] = token.split('.') as [string, string, string];
    try {
      const alg = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: string }).alg;
      if (alg !== 'RS256') return undefined;
      if (!createVerify('RSA-SHA256').update(`${header}.${payload}`).verify(this.publicKey, Buffer.from(signature, 'base64url'))) return undefined;
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as JwtClaims;
      const now = Math.floor(Date.now() / 1000);
      if (claims.iss !== LOCAL_ISSUER || claims.aud !== LOCAL_AUDIENCE || typeof claims.exp !== 'number' || claims.exp <= now) return undefined;
      if (typeof claims.sub !== 'string' || claims.sub === '') return undefined;
      return claims;
    } catch {
      return undefined;
    }
  }
}
