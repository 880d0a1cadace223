import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { eventKeys } from '../src/redis/keys';
import { defineScripts, putEvent } from '../src/redis/scripts';
import { startLocalRedis } from '../src/services/redis-server';
import { localMysqlUrl } from '../src/orders/mysql';
import { BENCH_SECRET } from './load';
import { LISTENING, startProc, type Proc } from './procs';

export type Server = 'ceiling' | 'ceiling-auth' | 'conventional' | 'seckill';
export const SERVERS: readonly Server[] = ['ceiling', 'ceiling-auth', 'conventional', 'seckill'];

const DIST = path.resolve(__dirname);
export const BENCH_ADMIN = 'bench-admin';

export interface Started {
  readonly proc: Proc;
  /** The sale's Redis, for the checks (none for the ceiling). */
  readonly redis: Redis | undefined;
  /** seckill's MariaDB socket, for the MySQL check. */
  readonly mysqlSocket: string | undefined;
  /** The processes whose CPU counts as the server's: node, and the redis-server and mariadbd it uses. */
  readonly pids: readonly { readonly name: string; readonly pid: number }[];
  stop(): Promise<void>;
}

export interface ServerOptions {
  readonly event: string;
  readonly stock: number;
  /** A fresh folder for this server's data. */
  readonly dataDir: string;
  readonly host?: string;
  /** Run the server inside this network namespace (link3m). */
  readonly netns?: string;
  /** Extra environment for seckill (queue settings). */
  readonly env?: Record<string, string>;
  /** Extra node options (--cpu-prof: not allowed in NODE_OPTIONS). */
  readonly nodeArgs?: readonly string[];
  /** seckill only: more of the event's definition (limit, skus: an event sold in lots, bench/lots.ts). */
  readonly define?: Record<string, unknown>;
  /** seckill only: a second instance on this one's Redis and MariaDB (it reads the first's event at start; the first's persister serves both). */
  readonly shareWith?: Started;
}

/** seckill's worker processes: the children of `pid` running the worker entry (not its redis-server or mariadbd). */
export function childPids(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((child) => fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('server/worker.js'));
  } catch {
    return [];
  }
}

/** Starts one of the four servers with the sale `event` open for an hour. */
export async function startServer(server: Server, o: ServerOptions): Promise<Started> {
  const host = o.host ?? '127.0.0.1';
  const window = { stock: o.stock, start: Date.now() - 1000, end: Date.now() + 3_600_000 };
  if (server === 'ceiling' || server === 'ceiling-auth') {
    const proc = await startProc([...(o.nodeArgs ?? []), path.join(DIST, 'baseline', `${server}.js`)], { PORT: '0', HOST: host, SECKILL_JWT_SECRET: BENCH_SECRET }, /listening (\d+)/, o.netns);
    return { proc, redis: undefined, mysqlSocket: undefined, pids: [{ name: 'node', pid: proc.child.pid ?? 0 }], stop: () => proc.stop() };
  }
  if (server === 'conventional') {
    const local = await startLocalRedis(o.dataDir);
    const redis = new Redis({ path: local.socket });
    defineScripts(redis);
    await putEvent(redis, eventKeys(o.event), { ...window, name: o.event });
    const proc = await startProc(
      [path.join(DIST, 'baseline', 'conventional.js')],
      { PORT: '0', HOST: host, REDIS_URL: local.socket, SECKILL_JWT_SECRET: BENCH_SECRET },
      /listening (\d+)/,
      o.netns,
    );
    return {
      proc,
      redis,
      mysqlSocket: undefined,
      pids: [
        { name: 'node', pid: proc.child.pid ?? 0 },
        { name: 'redis-server', pid: local.pid },
      ],
      async stop() {
        redis.disconnect();
        await proc.stop();
        await local.stop();
      },
    };
  }
  const shared = o.shareWith;
  const services: Record<string, string> =
    shared === undefined || shared.mysqlSocket === undefined
      ? { REDIS_URL: '', MYSQL_URL: '' }
      : { REDIS_URL: shared.redis?.options.path ?? '', MYSQL_URL: localMysqlUrl(shared.mysqlSocket), SECKILL_PERSISTER: 'false' };
  const proc = await startProc(
    [...(o.nodeArgs ?? []), path.join(DIST, '..', 'src', 'cli.js'), 'serve'],
    // One process unless a section asks for workers: the baselines are one thread each.
    { PORT: '0', HOST: host, SECKILL_DATA_DIR: o.dataDir, SECKILL_JWT_SECRET: BENCH_SECRET, SECKILL_ADMIN_TOKEN: BENCH_ADMIN, ...services, SECKILL_WORKERS: '1', ...o.env },
    LISTENING,
    o.netns,
  );
  if (shared !== undefined) {
    // Its Redis and MariaDB are the first instance's, counted there.
    return { proc, redis: shared.redis, mysqlSocket: shared.mysqlSocket, pids: [{ name: 'node', pid: proc.child.pid ?? 0 }], stop: () => proc.stop() };
  }
  const res = await fetch(`http://${host}:${proc.port}/admin/events/${o.event}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${BENCH_ADMIN}` },
    body: JSON.stringify({ ...window, ...o.define }),
  });
  if (res.status !== 201) {
    await proc.stop();
    throw new Error(`could not create ${o.event}: ${res.status}`);
  }
  const redis = new Redis({ path: path.join(o.dataDir, 'redis', 'redis.sock') });
  const pidIn = (file: string): number => Number(fs.readFileSync(path.join(o.dataDir, file), 'utf8').trim());
  return {
    proc,
    redis,
    mysqlSocket: path.join(o.dataDir, 'mariadb', 'mysqld.sock'),
    pids: [
      { name: 'node', pid: proc.child.pid ?? 0 },
      // Worker processes (SECKILL_WORKERS > 1) count as node too.
      ...childPids(proc.child.pid ?? 0).map((pid) => ({ name: 'node', pid })),
      { name: 'redis-server', pid: pidIn('redis/redis.pid') },
      { name: 'mariadbd', pid: pidIn('mariadb/mysqld.pid') },
    ],
    async stop() {
      redis.disconnect();
      await proc.stop();
    },
  };
}
