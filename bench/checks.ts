import type { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { connectMysql } from '../src/orders/mysql';
import { eventKeys } from '../src/redis/keys';
import type { LoadResult } from './load';
import type { Started } from './servers';

export function fail(msg: string): never {
  throw new Error(`check failed: ${msg}`);
}

/** The sale's invariants after a run: exact, one per user, Redis = what users were told. */
async function verifySale(redis: Redis, event: string, r: LoadResult, stock: number, prefix: string, slack: number): Promise<number> {
  const k = eventKeys(event);
  const buyers = await redis.hgetall(k.buyers);
  const n = Object.keys(buyers).length;
  const remaining = Number(await redis.get(k.stock));
  if (n > stock) fail(`${event}: ${n} buyers for ${stock} units`);
  if (n + remaining !== stock) fail(`${event}: buyers ${n} + remaining ${remaining} != ${stock}`);
  const orders = Object.values(buyers).map(Number).sort((a, b) => a - b);
  if (orders.some((o, i) => o !== i + 1)) fail(`${event}: order numbers are not 1..${n}`);
  const won = r.outcomes[0] ?? 0;
  if (r.winners !== undefined) {
    for (const u of r.winners) if (buyers[`${prefix}${u}`] === undefined) fail(`${event}: ${prefix}${u} was told "won" but is no buyer`);
    if (won !== r.winners.size) fail(`${event}: ${won} "won" answers for ${r.winners.size} users`);
  } else if (won > n || n > won + slack) {
    // wrk cannot say who won: the wins counted must match Redis' buyers, but for answers still in flight when it stopped.
    fail(`${event}: ${won} "won" answers for ${n} buyers (at most ${slack} in flight at the end)`);
  }
  if ((r.outcomes[1] ?? 0) > 0 && n !== stock) fail(`${event}: "sold out" answered with ${remaining} units left`);
  return n;
}

/** Waits until MySQL holds exactly `buyers` orders of `event`, each user once. */
export async function waitForMysql(socket: string, event: string, buyers: number, limitMs: number): Promise<void> {
  const started = Date.now();
  const pool = await connectMysql({ socket });
  try {
    for (;;) {
      const [[row]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n, COUNT(DISTINCT user_id) AS u FROM orders WHERE event_id = ?', [event]);
      const rows = Number(row?.n);
      if (rows === buyers) {
        if (Number(row?.u) !== rows) fail(`${event}: a user twice in MySQL`);
        return;
      }
      if (rows > buyers) fail(`${event}: MySQL has ${rows} orders, Redis ${buyers}`);
      if (Date.now() - started > limitMs) fail(`${event}: MySQL has ${rows} orders after ${limitMs} ms, Redis ${buyers}`);
      await new Promise((res) => setTimeout(res, 25));
    }
  } finally {
    await pool.end();
  }
}

export interface Checked {
  readonly check: string;
  readonly buyers: number | undefined;
  /** From the load's last answer until every order was in MySQL. */
  readonly mysqlMs: number | undefined;
}

/** Checks a finished run; throws (failing the bench) when the sale is wrong. */
export async function checkRun(s: Started, event: string, r: LoadResult, stock: number, prefix = 'user', connections = 0): Promise<Checked> {
  if (s.redis === undefined) return { check: 'no state', buyers: undefined, mysqlMs: undefined };
  const lastAnswer = r.lastAt;
  const buyers = await verifySale(s.redis, event, r, stock, prefix, connections);
  if (s.mysqlSocket === undefined) return { check: `ok: ${buyers} buyers`, buyers, mysqlMs: undefined };
  await waitForMysql(s.mysqlSocket, event, buyers, 300_000);
  return { check: `ok: ${buyers} buyers, MySQL equal`, buyers, mysqlMs: Date.now() - lastAnswer };
}
