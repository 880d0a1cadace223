import type { Redis } from 'ioredis';
import { clusterNodeList, type Config } from '../config';
import { connectCluster, connectRedis, REDIS_CONNECT_TIMEOUT_MS } from '../redis/client';
import type { RedisClient } from '../redis/scripts';
import { connectReason, namedFailure } from './connect-failure';
import { redisAddress, watchCluster, watchRedis } from './redis-watch';

/**
 * connectRedis, with a start-up failure that says which setting pointed
 * where and why it failed (`cannot reach Redis at redis://10.0.0.5:6379
 * (REDIS_URL): connection refused (ECONNREFUSED): …`; ioredis alone says
 * only "Connection is closed."), and the outage watch of redis-watch.ts on
 * the connection it returns. `source` names what gave the target:
 * `REDIS_URL`, or the local redis-server.
 */
export async function connectRedisNamed(target: string, source: string, commandTimeoutMs: number, name?: string): Promise<Redis> {
  let redis: Redis;
  try {
    redis = await connectRedis(target, commandTimeoutMs, name);
  } catch (err) {
    throw namedFailure(`cannot reach Redis at ${redisAddress(target)} (${source}): ${redisReason(err, commandTimeoutMs)}`, err);
  }
  watchRedis(redis, name ?? 'seckill', target);
  return redis;
}

/** Why a connection to Redis failed: the socket's reason, or what the server (or whatever listens there) did. */
function redisReason(err: unknown, commandTimeoutMs: number): string {
  const message = err instanceof Error ? err.message : String(err);
  // Connected, then no answer to the first command: a Redis that hangs, or a server that waits for something else.
  if (/Command timed out/i.test(message)) return `connected, but no answer within ${commandTimeoutMs} ms (SECKILL_REDIS_TIMEOUT_MS): is it a Redis server, and does it answer?`;
  if (/Protocol error/i.test(message)) return `what answers there is not a Redis server (${message})`;
  return connectReason(err, REDIS_CONNECT_TIMEOUT_MS);
}

/** What to name in errors about the Redis a config points at. */
export function redisSource(redisUrl: string): string {
  return redisUrl === '' ? 'the local redis-server' : 'REDIS_URL';
}

/**
 * The Redis a config points at: a Cluster when REDIS_CLUSTER_NODES is set,
 * else `target` (REDIS_URL, or the local redis-server's socket).
 */
export async function connectConfiguredRedis(
  config: Config,
  target: string,
  commandTimeoutMs: number,
  name?: string,
  /** For sharded pub/sub (SSUBSCRIBE): under Cluster, a subscriber per shard. */
  subscriber = false,
): Promise<RedisClient> {
  if (config.redisClusterNodes === '') return connectRedisNamed(target, redisSource(config.redisUrl), commandTimeoutMs, name);
  let cluster;
  try {
    cluster = await connectCluster(clusterNodeList(config.redisClusterNodes), commandTimeoutMs, name, subscriber);
  } catch (err) {
    throw new Error(`cannot reach the Redis Cluster at ${config.redisClusterNodes} (REDIS_CLUSTER_NODES): ${(err as Error).message}`);
  }
  watchCluster(cluster, name ?? 'seckill');
  return cluster;
}
