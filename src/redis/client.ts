import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { defineScripts } from './scripts';
import { log } from '../log';

/**
 * A connection for the sale path. It fails fast instead of queueing: no
 * offline queue, no retry of a command whose connection dropped, and no
 * resend of unanswered commands after a reconnect (a buy batch in flight
 * when Redis goes away is answered "unavailable"; a retry of it could not
 * tell the user what happened anyway). It keeps reconnecting in the
 * background, and the scripts are defined once on it.
 */
export async function connectRedis(target: string, commandTimeoutMs: number, name = 'seckill'): Promise<Redis> {
  const options: RedisOptions = {
    ...failFast(commandTimeoutMs, name),
    lazyConnect: true,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(attempt * 50, 1_000),
  };
  const redis = target.startsWith('/') ? new Redis({ ...options, path: target }) : new Redis(target, options);
  defineScripts(redis);
  // ioredis needs an error listener; outages are logged once each way by
  // services/redis-watch.ts, so each failed reconnect is only debug noise.
  redis.on('error', (err: Error) => log.debug({ err: err.message }, 'redis error'));
  // A failed connect() rejects with "Connection is closed." only: the reason (refused, no such host, timed out)
  // came as the first 'error' event. That one is thrown, and the connection stops retrying.
  let reason: Error | undefined;
  const remember = (err: Error): void => {
    reason ??= err;
  };
  redis.on('error', remember);
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw reason ?? err;
  } finally {
    redis.off('error', remember);
  }
  return redis;
}

/** How long a connection to Redis may take to open (ioredis's connectTimeout). */
export const REDIS_CONNECT_TIMEOUT_MS = 2_000;

/** The per-connection half of "fail fast", shared by a single Redis and each node of a Cluster. */
function failFast(commandTimeoutMs: number, name: string): RedisOptions {
  return {
    connectionName: name,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
  };
}

/**
 * The same for a Redis Cluster (REDIS_CLUSTER_NODES). Each event's keys share
 * one hash tag, so every script call and stream command goes to the one
 * master owning that event's slot. Failing fast here also means: no offline
 * queue on the cluster, and no retry after a node dropped
 * (retryDelayOnFailover 0) or the cluster said CLUSTERDOWN
 * (retryDelayOnClusterDown 0). A master that is down then fails the calls
 * for its own events at once (they answer 10), and the other masters' events
 * go on. MOVED/ASK redirections (a slot migrating) are still followed.
 * ioredis gives each node connection its own settings (no reconnect, its
 * own offline queue until it is connected); the cluster as a whole
 * reconnects with clusterRetryStrategy.
 */
export async function connectCluster(
  nodes: readonly { host: string; port: number }[],
  commandTimeoutMs: number,
  name = 'seckill',
  /** SSUBSCRIBE through a subscriber connection per shard (ioredis's shardedSubscribers). */
  shardedSubscribers = false,
): Promise<Cluster> {
  const cluster = new Cluster(nodes.map((n) => ({ ...n })), {
    shardedSubscribers,
    lazyConnect: true,
    enableOfflineQueue: false,
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 0,
    slotsRefreshTimeout: Math.max(1_000, commandTimeoutMs),
    clusterRetryStrategy: (attempt) => Math.min(attempt * 50, 1_000),
    redisOptions: failFast(commandTimeoutMs, name),
  });
  defineScripts(cluster);
  cluster.on('error', (err: Error) => log.debug({ err: err.message }, 'redis cluster error'));
  cluster.on('node error', (err: Error, node: string) => log.debug({ err: err.message, node }, 'redis cluster node error'));
  await cluster.connect();
  return cluster;
}
