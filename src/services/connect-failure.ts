/**
 * Why a connection to Redis or MySQL could not be made, in words, keeping
 * the system's code: what the start-up error says after the setting and the
 * address (`cannot reach MySQL at mysql://shop@10.0.0.5:3306/shop
 * (MYSQL_URL): no answer within 5000 ms (ETIMEDOUT; SECKILL_MYSQL_TIMEOUT_MS)`).
 * `timeoutMs` and `setting` say which bound a timeout ran into.
 */
export function connectReason(err: unknown, timeoutMs: number, setting?: string): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED): nothing listens there';
    case 'ENOTFOUND':
      return 'no such host (ENOTFOUND)';
    case 'EAI_AGAIN':
      return 'the host name could not be looked up now (EAI_AGAIN)';
    case 'ETIMEDOUT':
      return `no answer within ${timeoutMs} ms (ETIMEDOUT${setting === undefined ? '' : `; ${setting}`})`;
    case 'ENOENT':
      return 'no such socket file (ENOENT)';
    case 'EACCES':
      return 'permission denied (EACCES)';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to that host (${code})`;
    case 'ECONNRESET':
      return 'the connection was reset (ECONNRESET)';
    default:
      return code === undefined || message.includes(code) ? message : `${message} (${code})`;
  }
}

/** The `code` of a node or driver error (ECONNREFUSED, ER_ACCESS_DENIED_ERROR), if it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** An error that says `message` and keeps the original as its cause, with its code (for the fatal line's `code`). */
export function namedFailure(message: string, cause: unknown): Error {
  const err = new Error(message, { cause });
  const code = errorCode(cause);
  if (code !== undefined) Object.assign(err, { code });
  return err;
}
