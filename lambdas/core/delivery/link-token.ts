// The emailed link's token: claims (export, user, link generation, expiry) plus an HMAC over them.
// The MAC comes from a LinkSigner: KMS GenerateMac/VerifyMac in AWS (the key never leaves KMS), a local
// key in the embedded stack. Which one is decided where the runtime is composed, never in a handler.
import { GenerateMacCommand, KMSInvalidMacException, VerifyMacCommand, type KMSClient } from '@aws-sdk/client-kms';
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';

export interface LinkSigner {
  sign(message: Uint8Array): Promise<Uint8Array>;
  /** Constant-time with respect to the MAC's content. */
  verify(message: Uint8Array, mac: Uint8Array): Promise<boolean>;
}

export class HmacLinkSigner implements LinkSigner {
  constructor(private readonly key: Uint8Array) {
    if (key.length < 32) throw new Error('The link signing key must be at least 32 bytes.');
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(createHmac('sha256', this.key).update(message).digest());
  }

  async verify(message: Uint8Array, mac: Uint8Array): Promise<boolean> {
    const expected = await this.sign(message);
    return expected.length === mac.length && timingSafeEqual(expected, mac);
  }
}

export class KmsLinkSigner implements LinkSigner {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async sign(message: Uint8Array): Promise<Uint8Array> {
    const result = await this.kms.send(new GenerateMacCommand({ KeyId: this.keyId, MacAlgorithm: 'HMAC_SHA_256', Message: message }));
    if (!result.Mac) throw new Error('KMS returned no MAC.');
    return result.Mac;
  }

  async verify(message: Uint8Array, mac: Uint8Array): Promise<boolean> {
    try {
      const result = await this.kms.send(new VerifyMacCommand({ KeyId: this.keyId, MacAlgorithm: 'HMAC_SHA_256', Message: message, Mac: mac }));
      return result.MacValid === true;
    } catch (error) {
      if (error instanceof KMSInvalidMacException) return false;
      throw error;
    }
  }
}

export interface LinkClaims {
  exportId: string;
  userId: string;
  /** Changes on every resend; a job only honours its current link. */
  linkId: string;
  /** Epoch seconds. */
  expiresAt: number;
}

const claimsSchema = z.object({ e: z.string().min(1).max(80), u: z.string().min(1).max(256), l: z.string().min(1).max(64), x: z.number().int().positive() }).strict();

const MAX_TOKEN_LENGTH = 2048;

export async function issueToken(signer: LinkSigner, claims: LinkClaims): Promise<string> {
  const payload = Buffer.from(JSON.stringify({ e: claims.exportId, u: claims.userId, l: claims.linkId, x: claims.expiresAt }), 'utf8');
  const mac = await signer.sign(payload);
  return `${payload.toString('base64url')}.${Buffer.from(mac).toString('base64url')}`;
}

export type TokenCheck = { valid: true; claims: LinkClaims } | { valid: false; reason: 'malformed' | 'forged' | 'expired'; claims?: LinkClaims };

/** Verifies the MAC first; only a genuine token's expiry is looked at. */
export async function verifyToken(signer: LinkSigner, token: string, nowSeconds: number): Promise<TokenCheck> {
  if (token.length > MAX_TOKEN_LENGTH) return { valid: false, reason: 'malformed' };
  const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token);
  if (!match) return { valid: false, reason: 'malformed' };
  const payload = Buffer.from(match[1] ?? '', 'base64url');
  const mac = Buffer.from(match[2] ?? '', 'base64url');
  // base64url's last character carries spare bits the decoder ignores; accept only the one canonical
  // spelling, so a token's text identifies it (audit, revocation and rate limits key on it).
  if (payload.toString('base64url') !== match[1] || mac.toString('base64url') !== match[2]) return { valid: false, reason: 'malformed' };
  if (!(await signer.verify(payload, mac))) return { valid: false, reason: 'forged' };
  let parsed: z.infer<typeof claimsSchema>;
  try {
    parsed = claimsSchema.parse(JSON.parse(payload.toString('utf8')));
  } catch {
    return { valid: false, reason: 'malformed' };
  }
  const claims: LinkClaims = { exportId: parsed.e, userId: parsed.u, linkId: parsed.l, expiresAt: parsed.x };
  if (claims.expiresAt <= nowSeconds) return { valid: false, reason: 'expired', claims };
  return { valid: true, claims };
}
