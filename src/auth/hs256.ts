import { constantTimeEqual, createHmacSha256 } from './hmac-sha256';
import type { TokenRefusal } from './refusal';

/** What the fast path decided: the token's claims, a refusal and why, or "not mine: ask fast-jwt". */
export type FastResult = { readonly payload: Record<string, unknown> } | TokenRefusal | 'not-mine';

const HEADERS = ['{"alg":"HS256","typ":"JWT"}', '{"typ":"JWT","alg":"HS256"}', '{"alg":"HS256"}'].map((h) => Buffer.from(h).toString('base64url'));
/** 32 bytes in canonical unpadded base64url: 42 free characters, then one whose low 2 bits are 0. */
const SIGNATURE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * A narrow HS256 check on node:crypto (one-shot hashes, hmac-sha256.ts) for
 * the tokens a sale actually sees:
 * one of the three usual HS256 headers, byte for byte, and a canonical
 * 43-character signature. For those it decides alone, with the same rules
 * as fast-jwt's verifier configured in jwt.ts (algorithms HS256, `sub`
 * required, `exp` and `nbf` enforced with no tolerance, payload a JSON
 * object): bench/jwt.ts measures it against fast-jwt on first-time tokens. Every other token (another header, another algorithm,
 * an odd signature encoding) is 'not-mine' and goes to fast-jwt, so this
 * path can only ever be narrower than fast-jwt, never wider;
 * test/jwt-fast-path.test.ts checks the two agree on every kind of token.
 */
export function createHs256FastPath(secret: string): (token: string) => FastResult {
  const mac = createHmacSha256(Buffer.from(secret, 'utf8'));
  return (token) => {
    const first = token.indexOf('.');
    const last = token.lastIndexOf('.');
    if (first <= 0 || last <= first) return 'not-mine';
    // More than three segments: not a JWT (fast-jwt says so too).
    if (token.indexOf('.', first + 1) !== last) return 'malformed';
    if (!HEADERS.some((h) => h.length === first && token.startsWith(h))) return 'not-mine';
    const signature = token.slice(last + 1);
    if (!SIGNATURE.test(signature)) return 'not-mine';
    const expected = mac(token.slice(0, last));
    if (expected === undefined) return 'not-mine';
    // A canonical encoding has exactly one byte string, so a mismatch here is a mismatch for fast-jwt too.
    if (!constantTimeEqual(expected, signature)) return 'bad signature';
    const segment = token.slice(first + 1, last);
    if (!BASE64URL.test(segment)) return 'malformed';
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(segment, 'base64').toString('utf8'));
    } catch {
      return 'malformed';
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return 'malformed';
    const claims = payload as Record<string, unknown>;
    if (!('sub' in claims)) return 'bad sub';
    const now = Date.now();
    if ('nbf' in claims && typeof claims.nbf !== 'number') return 'malformed';
    if ('exp' in claims && typeof claims.exp !== 'number') return 'malformed';
    if ('nbf' in claims && now < (claims.nbf as number) * 1000) return 'not yet valid';
    if ('exp' in claims && now > (claims.exp as number) * 1000) return 'expired';
    return { payload: claims };
  };
}
