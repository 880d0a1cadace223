import type { HttpResponse } from 'uWebSockets.js';

/**
 * Reads a request body of at most `limit` bytes. uWS hands out chunks that
 * are neutered after the callback, so each is copied. Calls `done` once with
 * the body, or with undefined as soon as it grows past the limit. The caller
 * must have registered onAborted already.
 */
export function readBody(res: HttpResponse, limit: number, done: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  res.onData((chunk, isLast) => {
    if (over) return;
    size += chunk.byteLength;
    if (size > limit) {
      over = true;
      done(undefined);
      return;
    }
    if (chunk.byteLength > 0) chunks.push(Buffer.from(chunk.slice(0)));
    if (isLast) done(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
  });
}

/** Content-Length as a number; NaN when absent or not a plain number. */
export function contentLength(header: string): number {
  return header !== '' && /^\d{1,15}$/.test(header) ? Number(header) : Number.NaN;
}
