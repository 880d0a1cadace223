import type { Config } from '../config';
import type { ServiceHealth } from '../services/local-service';

/**
 * Messages between the primary and its workers (node IPC). None is on the
 * buy path: a worker decides its buys with its own consumer; these only
 * start, count and stop it.
 */

/** Worker → primary: it listens on the shared port. */
export interface Listening {
  readonly t: 'listening';
  readonly port: number;
}

/** Worker → primary: the answer to a ping (its event loop turns). */
export interface Pong {
  readonly t: 'pong';
}

/** Worker → primary: it cannot start, and why (sent just before it exits 1), so the primary's last line says it. */
export interface Failed {
  readonly t: 'failed';
  readonly message: string;
}

export type ToPrimary = Listening | Pong | Failed;

/** Primary → worker: stop listening, answer what is parked, close, exit. */
export interface Close {
  readonly t: 'close';
}

/** Primary → worker: how many times workers of this server were restarted (for /healthz and /metrics). */
export interface Restarts {
  readonly t: 'restarts';
  readonly count: number;
}

/** Primary → worker: the local services it supervises, as /healthz reports them (sent when they change). */
export interface Services {
  readonly t: 'services';
  readonly health: Record<string, ServiceHealth>;
}

/** Primary → worker: are you there? (A worker whose event loop is stuck never answers, and is killed.) */
export interface Ping {
  readonly t: 'ping';
}

export type ToWorker = Close | Restarts | Services | Ping;

/** What a worker process is started with (in its environment as JSON, SECKILL_WORKER). */
export interface WorkerStart {
  readonly index: number;
  /** The public port to share (SO_REUSEPORT). */
  readonly port: number;
  /** This worker's share of the server's settings. */
  readonly config: Config;
  /** REDIS_URL, or the local redis-server's socket. */
  readonly redisTarget: string;
  /** MYSQL_URL, the local mariadbd's socket, or none. */
  readonly mysql: { readonly url: string } | { readonly socket: string } | undefined;
  /** The instance part of each process id (`<host>:<primary pid>`). */
  readonly instance: string;
  readonly restarts: number;
  readonly services: Record<string, ServiceHealth>;
}

/** A message type the switch does not know is a bug the compiler finds. */
export function unexpected(m: never): never {
  throw new Error(unexpectedMessage(m));
}

/** What a message nobody expects is (null, a non-object or an unknown type), for an error or a log line. */
export function unexpectedMessage(m: unknown): string {
  return `unexpected message ${JSON.stringify(m) ?? String(m)}`;
}
