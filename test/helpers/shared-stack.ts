import { Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import type { Test } from 'tap';
import { connectMysql } from '../../src/orders/mysql';
import type { LocalRedis } from '../../src/services/redis-server';
import { ADMIN, SECRET } from './app';
import { tempDir, testMysql, testRedis } from './services';

/** One redis-server and one mariadbd that several server processes share, as a real deployment does. */
export interface SharedStack {
  readonly local: LocalRedis;
  /** A client of the shared Redis, for the test's own checks and faults (it reconnects after a restart). */
  readonly redis: Redis;
  /** The shared MariaDB's MYSQL_URL. */
  readonly mysqlUrl: string;
  readonly pool: Pool;
  /** The environment of one more server on the stack (its own data folder). */
  env(extra?: Record<string, string>): Record<string, string>;
}

export async function sharedStack(t: Test, redisDir = tempDir(t)): Promise<SharedStack> {
  const local = await testRedis(t, redisDir);
  const db = await testMysql(t);
  const redis = new Redis({ path: local.socket });
  redis.on('error', () => undefined); // the faults restart redis-server under it
  t.teardown(() => redis.disconnect());
  // The tests' own statements (a million rows in one INSERT) may take long on a loaded machine: no stall guard worth the name.
  const pool = await connectMysql({ url: db.url }, 300_000);
  t.teardown(() => pool.end());
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    REDIS_URL: local.socket,
    MYSQL_URL: db.url,
    SECKILL_DATA_DIR: tempDir(t),
    SECKILL_JWT_SECRET: SECRET,
    SECKILL_ADMIN_TOKEN: ADMIN,
    // A fast refresh makes the races with another server's warm-up likely.
    SECKILL_EVENT_REFRESH_MS: '100',
    SECKILL_PERSIST_WAIT_MS: '10',
    ...extra,
  });
  return { local, redis, mysqlUrl: db.url, pool, env };
}
