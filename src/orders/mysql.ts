import mysql, { type ConnectionOptions, type Pool } from 'mysql2/promise';
import { DEFAULT_CONFIG } from '../config';
import { stallGuardedSocket } from './mysql-stall';
import { applySchema } from './schema';

export const LOCAL_DATABASE = 'seckill';

/**
 * The MySQL pool: from MYSQL_URL, or root over the local mariadbd's socket
 * (whose database is created on first use). Dates travel as UTC; the schema
 * is brought up to date before the pool is handed out.
 *
 * Every call is bounded by `timeoutMs` (SECKILL_MYSQL_TIMEOUT_MS): a
 * connection that cannot be made (and logged in) in that time fails
 * (`connectTimeout`), and one whose server answers nothing to a request for
 * that long is dropped with an error (src/orders/mysql-stall.ts), so a
 * stalled server turns into errors, not into callers waiting for ever.
 */
export async function connectMysql(target: { url: string } | { socket: string }, timeoutMs = DEFAULT_CONFIG.mysqlTimeoutMs): Promise<Pool> {
  const where: ConnectionOptions = 'socket' in target ? { socketPath: target.socket, user: 'root' } : { uri: target.url };
  const common: ConnectionOptions = { ...where, timezone: 'Z', supportBigNumbers: true, enableKeepAlive: true, connectTimeout: timeoutMs };
  // The database and the schema on a connection of their own, without the stall guard (see applySchema).
  const setup = await mysql.createConnection(common);
  try {
    if ('socket' in target) {
      await setup.query(`CREATE DATABASE IF NOT EXISTS \`${LOCAL_DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      await setup.query(`USE \`${LOCAL_DATABASE}\``);
    }
    await applySchema(setup);
  } finally {
    await setup.end().catch(() => setup.destroy());
  }
  return openMysqlPool(target, timeoutMs);
}

/**
 * The same pool without the set-up round trip: for a process whose server
 * has already brought the database and schema up (a worker). It connects on
 * first use, so a MySQL that is away or stalled does not stop the process
 * from starting: its calls fail within `timeoutMs` instead, as at any time.
 */
export function openMysqlPool(target: { url: string } | { socket: string }, timeoutMs = DEFAULT_CONFIG.mysqlTimeoutMs): Pool {
  const where: ConnectionOptions = 'socket' in target ? { socketPath: target.socket, user: 'root', database: LOCAL_DATABASE } : { uri: target.url };
  return mysql.createPool({
    ...where,
    timezone: 'Z',
    supportBigNumbers: true,
    enableKeepAlive: true,
    connectTimeout: timeoutMs,
    connectionLimit: 8,
    stream: stallGuardedSocket(timeoutMs),
  });
}

/** MYSQL_URL form of a local socket (the database must exist: connectMysql({ socket }) makes it). */
export function localMysqlUrl(socket: string): string {
  return `mysql://root@localhost/${LOCAL_DATABASE}?socketPath=${encodeURIComponent(socket)}`;
}
