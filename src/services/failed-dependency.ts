/** The two services a request may wait on. */
export type Dependency = 'MySQL' | 'Redis';

/**
 * ioredis' own errors that carry no class of their own: a command that timed
 * out, or found the connection (or the Cluster) closed or not ready.
 */
const REDIS_MESSAGES =
  /^(Command timed out|Connection is closed|Stream isn't writeable|Cluster (isn't ready|is disconnect)|None of startup nodes is available|Too many Cluster redirections|Node is disconnected|Socket timeout)/;
/** The redis-errors classes (ReplyError, AbortError, …) and ioredis' (MaxRetriesPerRequestError, ClusterAllFailedError). */
const REDIS_ERRORS = /^(Redis|Reply|Parser|Abort|Interrupt|MaxRetriesPerRequest|ClusterAllFailed)Error$/;
/** mysql2's pool errors, which carry no code. */
const MYSQL_MESSAGES = /^(Pool is closed|Queue limit reached|No connections available|Can't add new command when connection is in closed state)/;

/**
 * Which service an error came from, by the marks each client puts on its
 * errors; undefined when neither is recognised. mysql2: a server error
 * carries `sqlState`, a broken or timed-out connection `fatal` with a
 * `code` (PROTOCOL_…, ETIMEDOUT at the connect timeout, ECONNREFUSED),
 * and the pool's own errors their message. ioredis: its error classes, the
 * failed `command` on a reply error, and the messages above.
 */
export function failedDependency(err: unknown): Dependency | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as Error & { sqlState?: unknown; fatal?: unknown; code?: unknown; command?: unknown };
  if (e.sqlState !== undefined || MYSQL_MESSAGES.test(e.message)) return 'MySQL';
  if (typeof e.code === 'string' && (e.code.startsWith('PROTOCOL_') || e.code.startsWith('ER_') || typeof e.fatal === 'boolean')) return 'MySQL';
  if (REDIS_ERRORS.test(e.name) || REDIS_ERRORS.test(e.constructor.name) || e.command !== undefined || REDIS_MESSAGES.test(e.message)) return 'Redis';
  return undefined;
}

/** "MySQL unavailable: connect ETIMEDOUT": the service that failed (when known) and how, in one short line. */
export function describeFailure(err: unknown): string {
  const dependency = failedDependency(err);
  const how = (err instanceof Error ? err.message : String(err)).split('\n')[0]?.slice(0, 160) ?? '';
  return `${dependency === undefined ? 'unavailable' : `${dependency} unavailable`}${how === '' ? '' : `: ${how}`}`;
}
