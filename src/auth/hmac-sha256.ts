import { createHash, hash } from 'node:crypto';

const BLOCK = 64;

/**
 * HMAC-SHA256 (RFC 2104) from two one-shot `crypto.hash` calls over
 * preallocated buffers: SHA256((K ^ opad) || SHA256((K ^ ipad) || message)).
 * `createHmac` builds a native object per call, which is most of its cost
 * for a JWT-sized message: bench/jwt.ts measures the two. Returns the MAC in
 * unpadded base64url, or undefined for a message longer than `maxBytes`
 * (the caller then uses `createHmac`). One instance, one thread: the buffers
 * are reused. test/jwt-fast-path.test.ts checks it against `createHmac`.
 */
export function createHmacSha256(secret: Buffer, maxBytes = 8192): (message: string) => string | undefined {
  const key = Buffer.alloc(BLOCK);
  (secret.length > BLOCK ? createHash('sha256').update(secret).digest() : secret).copy(key);
  const inner = Buffer.alloc(BLOCK + maxBytes);
  const outer = Buffer.alloc(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = (key[i] ?? 0) ^ 0x36;
    outer[i] = (key[i] ?? 0) ^ 0x5c;
  }
  return (message) => {
    // Up to 3 UTF-8 bytes per UTF-16 unit: a message that might not fit is not written at all.
    if (message.length * 3 > maxBytes) return undefined;
    const n = inner.write(message, BLOCK, 'utf8');
    outer.write(hash('sha256', inner.subarray(0, BLOCK + n), 'hex'), BLOCK, 'hex');
    return hash('sha256', outer, 'base64url');
  };
}

/** Compares two strings in time that depends on their length only. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
