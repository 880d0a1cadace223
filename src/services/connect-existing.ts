import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from 'mysql2/promise';
import { ConfigError, type Config } from '../config';
import { connectMysqlNamed } from './mysql-connect';
import type { RedisClient } from '../redis/scripts';
import { connectConfiguredRedis } from './redis-connect';
import { mariadbSocket } from './mariadb-server';

/**
 * For the standalone tools (persister, reconcile): the Redis and MySQL a
 * server uses, from REDIS_URL (or REDIS_CLUSTER_NODES) / MYSQL_URL, or else the local ones a server
 * started under SECKILL_DATA_DIR. Starts nothing itself.
 */
export async function connectExisting(config: Config, name: string): Promise<{ redis: RedisClient; pool: Pool }> {
  const socket = path.join(config.dataDir, 'redis', 'redis.sock');
  if (config.redisUrl === '' && config.redisClusterNodes === '' && !fs.existsSync(socket)) {
    throw new ConfigError(`no REDIS_URL, and no local redis-server at ${socket}: start the server (npm start) or set REDIS_URL`);
  }
  const mysqlSocket = mariadbSocket(config.dataDir);
  if (config.mysqlUrl === 'none') throw new ConfigError('MYSQL_URL=none: there is no MySQL to work with');
  if (config.mysqlUrl === '' && !fs.existsSync(mysqlSocket)) {
    throw new ConfigError(`no MYSQL_URL, and no local mariadbd at ${mysqlSocket}: start the server (npm start) or set MYSQL_URL`);
  }
  const redis = await connectConfiguredRedis(config, config.redisUrl || socket, Math.max(config.redisTimeoutMs, 5_000), name);
  try {
    const pool = await connectMysqlNamed(config.mysqlUrl === '' ? { socket: mysqlSocket } : { url: config.mysqlUrl }, config.mysqlTimeoutMs);
    return { redis, pool };
  } catch (err) {
    redis.disconnect();
    throw err;
  }
}
