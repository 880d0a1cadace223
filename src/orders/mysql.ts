import mysql, { type Pool, type PoolOptions } from 'mysql2/promise';
import { applySchema } from './schema';

export const LOCAL_DATABASE = 'seckill';

/**
 * The MySQL pool: from MYSQL_URL, or root over the local mariadbd's socket
 * (whose database is created on first use). Dates travel as UTC; the schema
 * is brought up to date before the pool is handed out.
 */
export async function connectMysql(target: { url: string } | { socket: string }): Promise<Pool> {
  const common: PoolOptions = { connectionLimit: 8, timezone: 'Z', supportBigNumbers: true, enableKeepAlive: true };
  let pool: Pool;
  if ('socket' in target) {
    const bootstrap = await mysql.createConnection({ socketPath: target.socket, user: 'root' });
    await bootstrap.query(`CREATE DATABASE IF NOT EXISTS \`${LOCAL_DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await bootstrap.end();
    pool = mysql.createPool({ ...common, socketPath: target.socket, user: 'root', database: LOCAL_DATABASE });
  } else {
    pool = mysql.createPool({ ...common, uri: target.url });
  }
  try {
    await applySchema(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return pool;
}

/** MYSQL_URL form of a local socket (the database must exist: connectMysql({ socket }) makes it). */
export function localMysqlUrl(socket: string): string {
  return `mysql://root@localhost/${LOCAL_DATABASE}?socketPath=${encodeURIComponent(socket)}`;
}
