import { createPublicKey, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { createSigner, createVerifier, type Algorithm } from 'fast-jwt';
import { createHs256FastPath } from './hs256';
import { refusalOfFastJwt, type RefusalSink, type TokenRefusal } from './refusal';
import { TokenCache } from './token-cache';

/** Longest user id accepted in `sub` (it is stored in Redis and MySQL). */
export const MAX_USER_ID = 128;

export type { RefusalSink, TokenRefusal } from './refusal';

/**
 * `authorization` → the user id, or undefined. A token that is there and
 * refused is explained to `sink` (no token, or another scheme, is not: RFC
 * 6750 §3.1 gives those no error code).
 */
export type VerifyUser = (authorization: string, sink?: RefusalSink) => string | undefined;

/** PEM text as given, or read from the file the value names. */
function readPem(value: string): string {
  return value.includes('-----BEGIN') ? value : fs.readFileSync(value, 'utf8');
}

function algorithmsFor(pem: string): Algorithm[] {
  const key = createPublicKey(pem);
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256'];
    case 'ec':
      return ['ES256'];
    case 'ed25519':
      return ['EdDSA'];
    default:
      throw new Error(`SECKILL_JWT_PUBLIC_KEY: unsupported key type ${key.asymmetricKeyType ?? 'unknown'} (RSA, EC P-256 or Ed25519)`);
  }
}

/**
 * Turns an `authorization` header into a user id (the JWT's `sub`), or
 * undefined for anything else: no header, not Bearer, bad signature, wrong
 * algorithm, expired, not yet valid (`nbf`), no or odd `sub` (each told to
 * the caller's RefusalSink: refusal.ts). HS256 with the
 * shared secret, or RS256/ES256/EdDSA with the public key; `exp` and `nbf`
 * are enforced when present.
 *
 * HS256 tokens of the usual shape take a narrow path on node:crypto
 * (hs256.ts, about half fast-jwt's cost: bench/README.md); every other token
 * goes to fast-jwt. Verified tokens are cached, keyed by the token text
 * itself, until their `exp`, within `cacheMiB` of memory (token-cache.ts): a
 * crowd clicks again and again with the same token. fast-jwt has a cache of
 * its own, but it hashes every token for its key, and the bench's profile
 * showed that hash as large as the HMAC it saves. Failures are not cached.
 */
export function createUserVerifier(secret: string, publicKey: string, cacheMiB: number): VerifyUser {
  const pem = publicKey === '' ? '' : readPem(publicKey);
  const slow = createVerifier({
    key: pem === '' ? secret : pem,
    algorithms: pem === '' ? ['HS256'] : algorithmsFor(pem),
    requiredClaims: ['sub'],
  });
  const fast = pem === '' ? createHs256FastPath(secret) : undefined;
  const verify = (token: string): Record<string, unknown> | TokenRefusal => {
    const r = fast === undefined ? 'not-mine' : fast(token);
    if (typeof r === 'object') return r.payload;
    if (r !== 'not-mine') return r;
    try {
      return slow(token) as Record<string, unknown>;
    } catch (err) {
      return refusalOfFastJwt((err as { code?: unknown }).code);
    }
  };
  const cache = TokenCache.ofMiB(cacheMiB);
  return (authorization, sink) => {
    if (authorization.length < 8 || !isBearer(authorization)) return undefined;
    const token = authorization.slice(7);
    const hit = cache.get(token);
    if (hit !== undefined && Date.now() <= hit.expiresMs) return hit.user;
    const payload = verify(token);
    if (typeof payload === 'string') {
      sink?.tokenRefused(payload);
      return undefined;
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_USER_ID) {
      sink?.tokenRefused('bad sub');
      return undefined;
    }
    const exp = payload.exp;
    cache.set(token, { user: sub, expiresMs: typeof exp === 'number' ? exp * 1000 : Infinity });
    return sub;
  };
}

/** `Bearer ` in any case: the scheme name is case-insensitive (RFC 9110 §11.1). */
function isBearer(authorization: string): boolean {
  return authorization.startsWith('Bearer ') || authorization.slice(0, 7).toLowerCase() === 'bearer ';
}

/** Mints an HS256 token for a user (the `seckill token` command and tests). */
export function mintToken(secret: string, user: string, ttlMs?: number): string {
  const sign = createSigner(ttlMs === undefined ? { key: secret } : { key: secret, expiresIn: ttlMs });
  return sign({ sub: user });
}

/** Constant-time check of `authorization: Bearer <admin token>`. */
export function createAdminCheck(adminToken: string): (authorization: string) => boolean {
  const expected = Buffer.from(adminToken);
  return (authorization) => {
    if (adminToken === '' || !isBearer(authorization)) return false;
    const given = Buffer.from(authorization.slice(7));
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
}
