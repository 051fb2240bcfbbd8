// The emailed link's token: only a token we signed, unchanged and unexpired, opens a download.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HmacLinkSigner, issueToken, verifyToken, type LinkClaims } from '../../lambdas/core/delivery/link-token.ts';

const KEY = Buffer.alloc(32, 7);
const OTHER_KEY = Buffer.alloc(32, 8);
const NOW = 1_750_000_000;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const claims = (overrides: Partial<LinkClaims> = {}): LinkClaims => ({
  exportId: 'exp-01J9ZQ4T3K',
  userId: 'u-1',
  linkId: 'link-1',
  expiresAt: NOW + 3600,
  ...overrides,
});

/** A token whose payload is `payload` (any bytes), with a genuine MAC from `key`. */
function signRaw(payload: string, key: Uint8Array = KEY): string {
  const bytes = Buffer.from(payload, 'utf8');
  return `${bytes.toString('base64url')}.${createHmac('sha256', key).update(bytes).digest('base64url')}`;
}

describe('issueToken / verifyToken', () => {
  it('accepts a token it issued and returns its claims', async () => {
    const signer = new HmacLinkSigner(KEY);
    const token = await issueToken(signer, claims());
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    await expect(verifyToken(signer, token, NOW)).resolves.toEqual({ valid: true, claims: claims() });
  });

  it('round-trips claims with non-ASCII user ids', async () => {
    const signer = new HmacLinkSigner(KEY);
    const unusual = claims({ userId: 'Zoë 👩‍🔧 "quoted"' });
    await expect(verifyToken(signer, await issueToken(signer, unusual), NOW)).resolves.toEqual({ valid: true, claims: unusual });
  });

  it('accepts a token with a fresh signer built from the same key', async () => {
    const token = await issueToken(new HmacLinkSigner(Buffer.from(KEY)), claims());
    await expect(verifyToken(new HmacLinkSigner(Buffer.from(KEY)), token, NOW)).resolves.toEqual({ valid: true, claims: claims() });
  });

  it('refuses a token changed in any single character of its payload or MAC', async () => {
    const signer = new HmacLinkSigner(KEY);
    const token = await issueToken(signer, claims());
    const accepted: string[] = [];
    for (let i = 0; i < token.length; i += 1) {
      if (token[i] === '.') continue;
      for (const replacement of BASE64URL) {
        if (replacement === token[i]) continue;
        const changed = `${token.slice(0, i)}${replacement}${token.slice(i + 1)}`;
        const check = await verifyToken(signer, changed, NOW);
        if (check.valid || (check.reason !== 'forged' && check.reason !== 'malformed')) {
          accepted.push(`position ${i}: ${token[i]} → ${replacement}`);
        }
      }
    }
    expect(accepted).toEqual([]);
  });

  it('refuses a token holding characters outside base64url as malformed', async () => {
    const signer = new HmacLinkSigner(KEY);
    const token = await issueToken(signer, claims());
    for (const changed of [`${token}=`, `+${token}`, token.replace('.', '..'), token.replace('.', ''), ` ${token}`, `${token}.x`, '', '.']) {
      await expect(verifyToken(signer, changed, NOW), JSON.stringify(changed)).resolves.toEqual({ valid: false, reason: 'malformed' });
    }
  });

  it('refuses a token signed with another key as forged', async () => {
    const token = await issueToken(new HmacLinkSigner(OTHER_KEY), claims());
    await expect(verifyToken(new HmacLinkSigner(KEY), token, NOW)).resolves.toEqual({ valid: false, reason: 'forged' });
  });

  it('refuses an expired token and still reports its claims', async () => {
    const signer = new HmacLinkSigner(KEY);
    const token = await issueToken(signer, claims({ expiresAt: NOW - 1 }));
    await expect(verifyToken(signer, token, NOW)).resolves.toEqual({ valid: false, reason: 'expired', claims: claims({ expiresAt: NOW - 1 }) });
  });

  it('treats the expiry second itself as expired and the second before as valid', async () => {
    const signer = new HmacLinkSigner(KEY);
    const token = await issueToken(signer, claims({ expiresAt: NOW }));
    await expect(verifyToken(signer, token, NOW)).resolves.toMatchObject({ valid: false, reason: 'expired' });
    await expect(verifyToken(signer, token, NOW - 1)).resolves.toMatchObject({ valid: true });
  });

  it('refuses a payload taken from another token with the original MAC', async () => {
    const signer = new HmacLinkSigner(KEY);
    const mine = await issueToken(signer, claims({ userId: 'u-1' }));
    const theirs = await issueToken(signer, claims({ userId: 'u-2', exportId: 'exp-other' }));
    const [, myMac] = mine.split('.');
    const [theirPayload, theirMac] = theirs.split('.');
    await expect(verifyToken(signer, `${theirPayload}.${myMac}`, NOW)).resolves.toEqual({ valid: false, reason: 'forged' });
    const [myPayload] = mine.split('.');
    await expect(verifyToken(signer, `${myPayload}.${theirMac}`, NOW)).resolves.toEqual({ valid: false, reason: 'forged' });
  });

  it('refuses an overlong token as malformed before checking its MAC', async () => {
    const signer = new HmacLinkSigner(KEY);
    const genuine = signRaw(JSON.stringify({ e: 'e', u: 'u'.repeat(2000), l: 'l', x: NOW + 60 }));
    expect(genuine.length).toBeGreaterThan(2048);
    await expect(verifyToken(signer, genuine, NOW)).resolves.toEqual({ valid: false, reason: 'malformed' });
    await expect(verifyToken(signer, `${'a'.repeat(3000)}.${'b'.repeat(43)}`, NOW)).resolves.toEqual({ valid: false, reason: 'malformed' });
  });

  it('refuses a genuinely signed payload whose claims are not valid as malformed', async () => {
    const signer = new HmacLinkSigner(KEY);
    const payloads = [
      'not json',
      JSON.stringify({ e: 'e', u: 'u', l: 'l' }),
      JSON.stringify({ e: 'e', u: 'u', l: 'l', x: '123' }),
      JSON.stringify({ e: 'e', u: 'u', l: 'l', x: NOW + 60, admin: true }),
      JSON.stringify({ e: '', u: 'u', l: 'l', x: NOW + 60 }),
      JSON.stringify({ e: 'e', u: 'u', l: 'l', x: 1.5 }),
    ];
    for (const payload of payloads) {
      await expect(verifyToken(signer, signRaw(payload), NOW), payload).resolves.toEqual({ valid: false, reason: 'malformed' });
    }
  });

  it('checks the MAC before the claims, so a forged token with bad claims is "forged"', async () => {
    const signer = new HmacLinkSigner(KEY);
    await expect(verifyToken(signer, signRaw('not json', OTHER_KEY), NOW)).resolves.toEqual({ valid: false, reason: 'forged' });
  });
});

describe('HmacLinkSigner', () => {
  it('rejects a key shorter than 32 bytes', () => {
    expect(() => new HmacLinkSigner(Buffer.alloc(31))).toThrow('The link signing key must be at least 32 bytes.');
    expect(() => new HmacLinkSigner(new Uint8Array(0))).toThrow('at least 32 bytes');
  });

  it('accepts a key of 32 bytes or more', async () => {
    const signer = new HmacLinkSigner(Buffer.alloc(64, 1));
    const mac = await signer.sign(Buffer.from('message'));
    expect(mac).toHaveLength(32);
    await expect(signer.verify(Buffer.from('message'), mac)).resolves.toBe(true);
  });

  it('refuses a MAC of the wrong length or content without throwing', async () => {
    const signer = new HmacLinkSigner(KEY);
    const message = Buffer.from('message');
    const mac = Buffer.from(await signer.sign(message));
    await expect(signer.verify(message, mac.subarray(0, 31))).resolves.toBe(false);
    await expect(signer.verify(message, Buffer.concat([mac, Buffer.from([0])]))).resolves.toBe(false);
    mac[0] = (mac[0] ?? 0) ^ 1;
    await expect(signer.verify(message, mac)).resolves.toBe(false);
  });
});
