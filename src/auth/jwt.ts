import { createPublicKey, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { createSigner, createVerifier, type Algorithm } from 'fast-jwt';

/** Longest user id accepted in `sub` (it is stored in Redis and MySQL). */
export const MAX_USER_ID = 128;

export type VerifyUser = (authorization: string) => string | undefined;

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
 * algorithm, expired, no or odd `sub`. HS256 with the shared secret, or
 * RS256/ES256/EdDSA with the public key; `exp` is enforced when present.
 *
 * Verified tokens are cached, keyed by the token text itself, until their
 * `exp`: a crowd clicks again and again with the same token. fast-jwt has a
 * cache of its own, but it hashes every token for its key, and the bench's
 * profile showed that hash as large as the HMAC it saves (bench/README.md).
 * Bounded by TokenCache below. Failures are not cached.
 */
export function createUserVerifier(secret: string, publicKey: string, cacheSize: number): VerifyUser {
  const pem = publicKey === '' ? '' : readPem(publicKey);
  const verify = createVerifier({
    key: pem === '' ? secret : pem,
    algorithms: pem === '' ? ['HS256'] : algorithmsFor(pem),
    requiredClaims: ['sub'],
  });
  const cache = new TokenCache(cacheSize);
  return (authorization) => {
    if (authorization.length < 8 || !isBearer(authorization)) return undefined;
    const token = authorization.slice(7);
    const hit = cache.get(token);
    if (hit !== undefined && Date.now() < hit.expiresMs) return hit.user;
    try {
      const payload = verify(token) as { sub?: unknown; exp?: unknown };
      const sub = payload.sub;
      if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_USER_ID) return undefined;
      cache.set(token, { user: sub, expiresMs: typeof payload.exp === 'number' ? payload.exp * 1000 : Infinity });
      return sub;
    } catch {
      return undefined;
    }
  };
}

interface Verified {
  readonly user: string;
  readonly expiresMs: number;
}

/**
 * Verified tokens in two generations of `size` each (so the last `size` to
 * `2 × size` tokens are kept): new entries go to the young one; when it is
 * full it becomes the old one and the previous old one is dropped whole. A
 * hit in the old generation moves up. Every step is O(1). (Evicting one
 * oldest entry per insert from a single Map is not: V8 leaves deleted slots
 * at the front of its insertion order, and finding the first live key skips
 * them all; with a crowd of new users that made each check 6x slower than no
 * cache at all.)
 */
export class TokenCache {
  private young = new Map<string, Verified>();
  private old = new Map<string, Verified>();
  constructor(readonly size: number) {}

  get(token: string): Verified | undefined {
    const v = this.young.get(token);
    if (v !== undefined || this.size === 0) return v;
    const o = this.old.get(token);
    if (o !== undefined) this.set(token, o);
    return o;
  }

  set(token: string, v: Verified): void {
    if (this.size === 0) return;
    this.young.set(token, v);
    if (this.young.size >= this.size) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  get count(): number {
    return this.young.size + this.old.size;
  }
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
