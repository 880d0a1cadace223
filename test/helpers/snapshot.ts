import { Cluster } from 'ioredis';
import type { RedisClient } from '../../src/redis/scripts';
import type { Pool, RowDataPacket } from 'mysql2/promise';

/**
 * Every key of the sale in Redis with its type and whole value, in a stable
 * order: equal snapshots, unchanged data. The answer counts each process
 * publishes (metrics/fleet-counts.ts) and the dashboard's history of them
 * (dashboard/history.ts, a sample a second) are bookkeeping, not sale state: left out.
 */
export async function redisSnapshot(redis: RedisClient): Promise<string> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const counts = /^sk:refused$|^sk:\{[^}]*\}:(answers|history)$/;
  const keys = (await Promise.all(nodes.map((n) => n.keys('*')))).flat().filter((k) => !counts.test(k)).sort();
  const out: [string, string, unknown][] = [];
  for (const k of keys) {
    const type = await redis.type(k);
    const value =
      type === 'string' ? await redis.get(k)
      : type === 'hash' ? Object.entries(await redis.hgetall(k)).sort()
      : type === 'stream' ? await redis.xrange(k, '-', '+')
      : type === 'set' ? (await redis.smembers(k)).sort()
      : type === 'list' ? await redis.lrange(k, 0, -1)
      : await redis.zrange(k, 0, -1, 'WITHSCORES');
    out.push([k, type, value]);
  }
  return JSON.stringify(out);
}

/** The events and orders tables, whole. */
export async function mysqlSnapshot(pool: Pool): Promise<string> {
  const [events] = await pool.query<RowDataPacket[]>('SELECT id, name, stock, start_ms, end_ms FROM events ORDER BY id');
  const [orders] = await pool.query<RowDataPacket[]>('SELECT event_id, order_no, user_id FROM orders ORDER BY event_id, order_no');
  return JSON.stringify({ events, orders });
}
