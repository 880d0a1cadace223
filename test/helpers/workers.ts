import http from 'node:http';
import { childPids } from '../../bench/servers';
import type { Test } from 'tap';
import { ADMIN, SECRET, token } from './app';
import { spawnServer, type ServerProcess } from './process';
import { tempDir } from './services';

/** The worker processes of a server (its children running the worker entry). */
export function workerPids(server: ServerProcess): number[] {
  return childPids(server.child.pid ?? 0);
}

/** How many lines of the server's output match `msg`. */
export function logLines(server: ServerProcess, msg: RegExp): number {
  return server.output().split('\n').filter((l) => msg.test(l)).length;
}

/** GET /healthz on a fresh connection. */
export async function healthz(base: string): Promise<{ workers?: { restarts: number } }> {
  return (await (await fetch(`${base}/healthz`, { headers: { connection: 'close' } })).json()) as { workers?: { restarts: number } };
}

/** A server of two workers on a data folder of its own (Redis started by it; no MySQL unless `env` says). */
export async function twoWorkers(t: Test, env: Record<string, string> = {}): Promise<ServerProcess> {
  return spawnServer(t, { SECKILL_DATA_DIR: tempDir(t), SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, MYSQL_URL: 'none', SECKILL_WORKERS: '2', ...env });
}

/** One buy on a connection of its own: its answer, or how the connection ended, and when. */
export function buyAlone(port: number, event: string, user: string): Promise<{ user: string; c?: number; o?: number; error?: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/events/${event}/buy`, agent: false, headers: { authorization: `Bearer ${token(user)}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        const { c, o } = JSON.parse(body) as { c: number; o?: number };
        resolve({ user, c, o, ms: Date.now() - started });
      });
      res.on('error', (err) => resolve({ user, error: err.message, ms: Date.now() - started }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ user, error: err.code ?? err.message, ms: Date.now() - started }));
    req.end();
  });
}
