import type { Pool } from 'mysql2/promise';
import type { Config } from '../config';
import { log } from '../log';
import { connectMysqlNamed } from './mysql-connect';
import { lockDataDir } from './data-dir-lock';
import type { LocalService, ServiceHealth } from './local-service';
import { startLocalMariadb } from './mariadb-server';
import { startLocalRedis, type AppendFsync } from './redis-server';
import type { LocalServiceName } from './stop-local';

export interface Services {
  /** What to give connectRedis: REDIS_URL, or the local server's socket (unused with REDIS_CLUSTER_NODES). */
  readonly redisTarget: string;
  /** undefined with MYSQL_URL=none. */
  readonly pool: Pool | undefined;
  /** Where that pool connects (a worker opens its own): MYSQL_URL, or the local mariadbd's socket. */
  readonly mysqlTarget: { readonly url: string } | { readonly socket: string } | undefined;
  /** The local servers this process supervises, by name: running, and restarts so far. */
  health(): Record<string, ServiceHealth>;
  /** Closes the pool and stops the local servers this process started or adopted. */
  stop(): Promise<void>;
}

/** The local services a server so configured starts (or adopts) under its data folder: those without a URL. */
export function localServicesOf(config: Config): LocalServiceName[] {
  const redis = config.redisUrl === '' && config.redisClusterNodes === '';
  return [...(redis ? ['redis-server' as const] : []), ...(config.mysqlUrl === '' ? ['mariadbd' as const] : [])];
}

/**
 * Redis and MySQL as configured: REDIS_URL (or REDIS_CLUSTER_NODES) / MYSQL_URL when set, else local
 * redis-server / mariadbd under SECKILL_DATA_DIR, started in parallel.
 */
export async function startServices(config: Config): Promise<Services> {
  const started: LocalService[] = [];
  let pool: Pool | undefined;
  // Local services belong to one server per data folder (services/data-dir-lock.ts).
  const local = localServicesOf(config);
  const dirLock = local.length > 0 ? lockDataDir(config.dataDir) : undefined;
  const stop = async (): Promise<void> => {
    await pool?.end().catch(() => undefined);
    await Promise.all(started.map((s) => s.stop()));
    dirLock?.release();
  };
  try {
    const [r, m] = await Promise.allSettled([
      local.includes('redis-server') ? startLocalRedis(config.dataDir, config.redisAppendfsync as AppendFsync) : undefined,
      local.includes('mariadbd') ? startLocalMariadb(config.dataDir) : undefined,
    ]);
    for (const s of [r, m]) {
      if (s.status === 'fulfilled' && s.value !== undefined) {
        started.push(s.value);
        log.info({ service: s.value.name, servicePid: s.value.pid }, `local ${s.value.name} ready`);
      }
    }
    if (r.status === 'rejected') throw r.reason;
    if (m.status === 'rejected') throw m.reason;
    const redis = r.value;
    const mariadb = m.value;
    const mysqlTarget = mariadb !== undefined ? { socket: mariadb.socket } : config.mysqlUrl !== 'none' ? { url: config.mysqlUrl } : undefined;
    if (mysqlTarget !== undefined) pool = await connectMysqlNamed(mysqlTarget, config.mysqlTimeoutMs);
    const health = (): Record<string, ServiceHealth> => Object.fromEntries(started.map((s) => [s.name, s.health()]));
    return { redisTarget: redis?.socket ?? config.redisUrl, pool, mysqlTarget, health, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
