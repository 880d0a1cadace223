/**
 * Why a buyer's token was refused: the `error_description` of a 401's
 * `WWW-Authenticate: Bearer error="invalid_token", error_description="…"`
 * (RFC 6750 §3), so a client can tell a token to renew from one to fix.
 */
export type TokenRefusal = 'malformed' | 'bad signature' | 'wrong algorithm' | 'expired' | 'not yet valid' | 'bad sub';

/** Told why a token was refused (an Exchange: it writes the reason into the 401's WWW-Authenticate). */
export interface RefusalSink {
  tokenRefused(why: TokenRefusal): void;
}

/** fast-jwt's error code → the refusal (anything else about the token's form: malformed). */
export function refusalOfFastJwt(code: unknown): TokenRefusal {
  switch (code) {
    case 'FAST_JWT_EXPIRED':
      return 'expired';
    case 'FAST_JWT_INACTIVE':
      return 'not yet valid';
    case 'FAST_JWT_INVALID_SIGNATURE':
    case 'FAST_JWT_MISSING_SIGNATURE':
      return 'bad signature';
    case 'FAST_JWT_INVALID_ALGORITHM':
      return 'wrong algorithm';
    case 'FAST_JWT_MISSING_REQUIRED_CLAIM':
      return 'bad sub';
    default:
      return 'malformed';
  }
}
