import { Redis, type RedisOptions } from 'ioredis';
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
    connectionName: name,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 50, 1_000),
  };
  const redis = target.startsWith('/') ? new Redis({ ...options, path: target }) : new Redis(target, options);
  defineScripts(redis);
  // ioredis needs an error listener; outages are logged once each way by
  // services/redis-watch.ts, so each failed reconnect is only debug noise.
  redis.on('error', (err: Error) => log.debug({ err: err.message }, 'redis error'));
  await redis.connect();
  return redis;
}
