import { Cluster } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import type { RedisClient } from '../redis/scripts';
import type { Check } from './dependency-probe';
import { redisHealth } from './redis-health';

/**
 * MySQL is checked every second and `stalled` after 2 s without an answer.
 * It is not on the buy path (orders wait in Redis), so it only informs
 * /healthz; 2 s is far above a `SELECT 1` on a live server, even with the
 * persister busy.
 */
export const MYSQL_CHECK_INTERVAL_MS = 1_000;
export const MYSQL_CHECK_TIMEOUT_MS = 2_000;

/** Redis is checked twice per command timeout (at least every second, at most every 50 ms). */
export function redisCheckIntervalMs(commandTimeoutMs: number): number {
  return Math.min(1_000, Math.max(50, Math.floor(commandTimeoutMs / 2)));
}

/**
 * PING on the connection buys use, so a Redis that hangs (its socket open,
 * nothing answered) shows within one command timeout: `stalled`. Under a
 * Cluster every master is asked at once (services/redis-health.ts), each
 * bounded by the command timeout, so the check is given twice that: one
 * master that hangs shows in the details, and the Cluster counts as up
 * while any master answers (its other events still sell).
 */
export function redisCheck(redis: RedisClient, commandTimeoutMs: number): Check {
  const intervalMs = redisCheckIntervalMs(commandTimeoutMs);
  if (!(redis instanceof Cluster)) {
    return {
      name: 'redis',
      intervalMs,
      timeoutMs: commandTimeoutMs,
      run: async () => {
        await redis.ping();
        return { up: true };
      },
    };
  }
  return {
    name: 'redis',
    intervalMs,
    timeoutMs: 2 * commandTimeoutMs,
    run: async () => {
      const health = await redisHealth(redis);
      const up = Object.values(health.redisCluster?.masters ?? {}).some(Boolean);
      return { up, error: 'no master answers', details: { ...health } };
    },
  };
}

/**
 * `SELECT 1` through the pool the persister uses. A check that hangs keeps
 * its pooled connection until MySQL answers or the connection dies; no
 * other check starts meanwhile, so at most one connection is held.
 */
export function mysqlCheck(pool: Pool): Check {
  return {
    name: 'mysql',
    intervalMs: MYSQL_CHECK_INTERVAL_MS,
    timeoutMs: MYSQL_CHECK_TIMEOUT_MS,
    run: async () => {
      await pool.query('SELECT 1');
      return { up: true };
    },
  };
}
