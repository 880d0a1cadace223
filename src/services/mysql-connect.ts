import type { Pool } from 'mysql2/promise';
import { connectMysql } from '../orders/mysql';
import { connectReason, errorCode, namedFailure } from './connect-failure';

type MysqlTarget = { readonly url: string } | { readonly socket: string };

/** Where a MYSQL_URL points, without its password (a value that is not a URL is not echoed: it may hold one). */
export function mysqlAddress(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username === '' ? '' : `${decodeURIComponent(u.username)}@`;
    const socket = u.searchParams.get('socketPath');
    return `${u.protocol}//${user}${u.host}${u.pathname}${socket === null ? '' : `?socketPath=${socket}`}`;
  } catch {
    return '(a value that is not a URL)';
  }
}

/**
 * connectMysql, with a failure that names the setting and the address:
 * `cannot reach MySQL at mysql://shop@10.0.0.5:3306/shop (MYSQL_URL): connection
 * refused (ECONNREFUSED): …` when no connection was made, `MySQL at … (MYSQL_URL)
 * refused: Access denied …` when the server answered with an error. mysql2
 * alone says only `connect ETIMEDOUT`, with no address.
 */
export async function connectMysqlNamed(target: MysqlTarget, timeoutMs: number): Promise<Pool> {
  try {
    return await connectMysql(target, timeoutMs);
  } catch (err) {
    const where = 'url' in target ? `${mysqlAddress(target.url)} (MYSQL_URL)` : `${target.socket} (the local mariadbd)`;
    const code = errorCode(err);
    // The server answered (a login, a database or a privilege refused): its own words say why.
    if (code?.startsWith('ER_') === true) throw namedFailure(`MySQL at ${where} refused: ${(err as Error).message} (${code})`, err);
    throw namedFailure(`cannot reach MySQL at ${where}: ${connectReason(err, timeoutMs, 'SECKILL_MYSQL_TIMEOUT_MS')}`, err);
  }
}
