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
 * fast-jwt's cache is on: a crowd clicks again and again with the same
 * token, and RS256/ES256 checks cost far more than the cache lookup.
 */
export function createUserVerifier(secret: string, publicKey: string, cacheSize: number): VerifyUser {
  const pem = publicKey === '' ? '' : readPem(publicKey);
  const verify = createVerifier({
    key: pem === '' ? secret : pem,
    algorithms: pem === '' ? ['HS256'] : algorithmsFor(pem),
    cache: cacheSize > 0 ? cacheSize : false,
    requiredClaims: ['sub'],
  });
  return (authorization) => {
    if (authorization.length < 8 || !authorization.startsWith('Bearer ')) return undefined;
    try {
      const payload = verify(authorization.slice(7)) as { sub?: unknown };
      const sub = payload.sub;
      return typeof sub === 'string' && sub.length > 0 && sub.length <= MAX_USER_ID ? sub : undefined;
    } catch {
      return undefined;
    }
  };
}

/** Mints an HS256 token for a user (the `seckill token` command and tests). */
export function mintToken(secret: string, user: string, ttlMs?: number): string {
  const sign = createSigner(ttlMs === undefined ? { key: secret } : { key: secret, expiresIn: ttlMs });
  return sign({ sub: user });
}

/** Constant-time check of `authorization: Bearer <admin token>`. */
export function createAdminCheck(adminToken: string): (authorization: string) => boolean {
  const expected = Buffer.from(`Bearer ${adminToken}`);
  return (authorization) => {
    if (adminToken === '') return false;
    const given = Buffer.from(authorization);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
}
