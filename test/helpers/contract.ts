import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Test } from 'tap';
import { childPids } from '../../bench/servers';
import { ADMIN, SECRET } from './app';
import { spawnServer, type ServerProcess } from './process';
import { connect } from './raw';
import { tempDir } from './services';
import { until } from './wait';

/** The contract holds for one process and for a primary with two peer workers on the shared port. */
export const WORKER_COUNTS = [1, 2] as const;

export interface Served extends ServerProcess {
  readonly workers: number;
  /** A client of the Redis the server sells on (its own redis-server unless REDIS_URL was given). */
  readonly redis: Redis;
  /** The processes that answer requests: the worker pids, or the server itself with one. */
  servingPids(): number[];
}

/** The built server as a real process, with `workers` processes serving, no MySQL unless `env` names one. */
export async function serve(t: Test, workers: number, env: Record<string, string> = {}): Promise<Served> {
  const dataDir = tempDir(t);
  const s = await spawnServer(t, {
    SECKILL_DATA_DIR: dataDir,
    SECKILL_JWT_SECRET: SECRET,
    SECKILL_ADMIN_TOKEN: ADMIN,
    MYSQL_URL: 'none',
    SECKILL_WORKERS: String(workers),
    ...env,
  });
  const redis = new Redis({ path: env.REDIS_URL || path.join(dataDir, 'redis', 'redis.sock') });
  redis.on('error', () => undefined); // the server stops its redis-server at teardown
  t.teardown(() => redis.disconnect());
  const servingPids = (): number[] => (workers === 1 ? [s.child.pid ?? 0] : childPids(s.child.pid ?? 0));
  return { ...s, workers, redis, servingPids };
}

/**
 * Waits until every process of `s` knows the event: a put is answered by
 * one worker, the others hear of it by the sale news a moment later (asked
 * on fresh connections, so each worker answers some).
 */
export async function known(s: Served, event: string): Promise<void> {
  const everyone = async (): Promise<boolean> =>
    (await Promise.all(Array.from({ length: 4 * s.workers }, () => ask(s.port, 'GET', `/events/${event}`)))).every((r) => r.status === 200);
  await until(everyone, `every process knows ${event}`);
}

/** One response as it came off the wire. */
export interface RawAnswer {
  readonly status: number;
  /** Header names lowercased. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
  /** The whole response's size in bytes. */
  readonly bytes: number;
}

export function parseAnswer(raw: Buffer): RawAnswer {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = raw.subarray(0, end < 0 ? raw.length : end).toString().split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine?.split(' ')[1]), headers, body: end < 0 ? Buffer.alloc(0) : raw.subarray(end + 4), bytes: raw.length };
}

/** A request's bytes: `body` gets its Content-Length unless `headers` say how it is sent. */
export function rawRequest(method: string, target: string, headers: Record<string, string> = {}, body?: string | Buffer): Buffer {
  const all: Record<string, string> = { host: 'x', ...headers };
  const framed = Object.keys(all).some((h) => /^(content-length|transfer-encoding)$/i.test(h));
  if (body !== undefined && !framed) all['content-length'] = String(Buffer.byteLength(body));
  const head = `${method} ${target} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head), body === undefined ? Buffer.alloc(0) : Buffer.from(body)]);
}

/** `body` framed as chunks of at most `size` bytes. */
export function chunked(body: string | Buffer, size = 7): Buffer {
  const b = Buffer.from(body);
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) {
    const piece = b.subarray(i, i + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/**
 * Reads one response from a socket: by Content-Length, or (HEAD, 204, 1xx
 * skipped) its head alone, or whatever came until the server closed.
 */
export function readAnswer(s: net.Socket, head = false): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const finish = (a: RawAnswer): void => {
      s.off('data', onData);
      resolve(a);
    };
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const a = parseAnswer(buf);
        if (a.status >= 100 && a.status < 200) {
          buf = buf.subarray(end + 4); // 100 Continue: the answer follows
          continue;
        }
        const length = Number(a.headers.get('content-length') ?? Number.NaN);
        if (head || a.status === 204) return finish(parseAnswer(buf.subarray(0, end + 4)));
        if (!Number.isNaN(length) && buf.length >= end + 4 + length) return finish(parseAnswer(buf.subarray(0, end + 4 + length)));
        return;
      }
    };
    s.on('data', onData);
    s.once('end', () => finish(parseAnswer(buf)));
    s.once('error', reject);
  });
}

/** One request on a fresh connection (so with workers, any of them may answer), closed after the answer. */
export async function ask(port: number, method: string, target: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawAnswer> {
  const s = await connect(port);
  try {
    const answer = readAnswer(s, method === 'HEAD');
    s.write(rawRequest(method, target, headers, body));
    return await answer;
  } finally {
    s.destroy();
  }
}

export function json(a: RawAnswer): Record<string, unknown> {
  return JSON.parse(a.body.toString()) as Record<string, unknown>;
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
