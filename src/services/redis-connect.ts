import type { Redis } from 'ioredis';
import { clusterNodeList, type Config } from '../config';
import { connectCluster, connectRedis } from '../redis/client';
import type { RedisClient } from '../redis/scripts';
import { redisAddress, watchCluster, watchRedis } from './redis-watch';

/**
 * connectRedis, with a start-up failure that says which setting pointed
 * where (ioredis alone says only "Connection is closed."), and the outage
 * watch of redis-watch.ts on the connection it returns. `source` names what
 * gave the target: `REDIS_URL`, or the local redis-server.
 */
export async function connectRedisNamed(target: string, source: string, commandTimeoutMs: number, name?: string): Promise<Redis> {
  let redis: Redis;
  try {
    redis = await connectRedis(target, commandTimeoutMs, name);
  } catch (err) {
    throw new Error(`cannot reach Redis at ${redisAddress(target)} (${source}): ${(err as Error).message}`);
  }
  watchRedis(redis, name ?? 'seckill', target);
  return redis;
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
