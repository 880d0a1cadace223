import type { Pool } from 'mysql2/promise';
import type { EventStore } from '../events/event-store';
import { eventKeys } from '../redis/keys';
import type { RedisClient } from '../redis/scripts';
import { keepConflicts, writeOrders } from './order-writer';
import { parseEntries } from './stream';

export interface EventReport {
  readonly event: string;
  readonly stock: number;
  readonly remaining: number;
  readonly buyers: number;
  /** Orders in the stream: granted, not yet in MySQL (the persister's backlog). */
  readonly inStream: number;
  readonly mysqlOrders: number;
  readonly mysqlUsers: number;
  /** Orders granted by Redis and in neither MySQL nor the stream. */
  readonly missing: number;
  readonly problems: readonly string[];
  /** With --repair: orders written to MySQL from the buyers hash. */
  readonly repaired: number;
  /** Orders kept in order_conflicts: won in Redis, refused by MySQL (Redis lost data). */
  readonly conflicts: number;
}

/**
 * Compares, for one event, Redis (initial stock, remaining, buyers, the
 * stream's backlog) with MySQL (orders, distinct users, order numbers).
 * Read in this order (buyers, stream, MySQL) so an order moving from the
 * stream to MySQL meanwhile is never counted missing. With `repair`, orders
 * Redis granted that are in neither place are written to MySQL from the
 * buyers hash (their time is unknown: now).
 */
export async function reconcileEvent(redis: RedisClient, pool: Pool, store: EventStore, event: string, repair: boolean): Promise<EventReport> {
  const k = eventKeys(event);
  const [stockText, remainingText, seqText, buyerMap] = await Promise.all([
    redis.hget(k.meta, 'stock'),
    redis.get(k.stock),
    redis.get(k.seq),
    redis.hgetall(k.buyers),
  ]);
  const inStream = new Set(parseEntries(await redis.xrange(k.orders, '-', '+')).map((o) => o.user));
  let mysql = await store.orders(event);
  const stock = Number(stockText ?? 0);
  const remaining = Number(remainingText ?? 0);
  const buyers = new Map(Object.entries(buyerMap).map(([u, o]) => [u, Number(o)]));
  const problems: string[] = [];

  if (stockText === null) problems.push('no event meta in Redis');
  if (remaining + buyers.size !== stock) problems.push(`remaining ${remaining} + buyers ${buyers.size} != stock ${stock}`);
  // 1..sold with no gap, unless a restore from MySQL skipped numbers that Redis lost.
  const seq = Number(seqText ?? stock - remaining);
  const orderNos = [...buyers.values()].sort((a, b) => a - b);
  if (orderNos.some((o, i) => o < 1 || o > seq || (i > 0 && o === orderNos[i - 1]))) {
    problems.push(`Redis order numbers are not distinct numbers in 1..${seq}`);
  }
  for (const [user, order] of mysql) {
    const granted = buyers.get(user);
    if (granted === undefined) problems.push(`MySQL has an order for ${user} that Redis never granted`);
    else if (granted !== order) problems.push(`${user}: MySQL order ${order}, Redis order ${granted}`);
  }
  const notStored = (): [string, number][] => [...buyers].filter(([user]) => !mysql.has(user) && !inStream.has(user));
  const lost = notStored();

  let repaired = 0;
  if (repair && lost.length > 0) {
    const now = new Date();
    const orders = lost.map(([user, orderNo]) => ({ id: '', orderNo, user, created: now }));
    const refused = await writeOrders(pool, event, orders);
    await keepConflicts(pool, event, refused);
    repaired = lost.length - refused.length;
    mysql = await store.orders(event);
  }
  const missing = notStored().length;
  if (missing > 0) problems.push(`${missing} order(s) granted by Redis are in neither MySQL nor the stream`);
  const counts = await store.counts(event);
  if (counts.users !== counts.orders) problems.push(`MySQL has ${counts.orders} orders for ${counts.users} users`);
  const conflicts = await store.conflicts(event);
  if (conflicts.length > 0) {
    problems.push(`${conflicts.length} conflicting order(s) kept in order_conflicts (told "won", refused by MySQL): settle each, then delete its row`);
    for (const c of conflicts.slice(0, 10)) problems.push(`  conflict: order ${c.orderNo} for ${c.user}: ${c.reason}`);
  }
  return {
    event,
    stock,
    remaining,
    buyers: buyers.size,
    inStream: inStream.size,
    mysqlOrders: counts.orders,
    mysqlUsers: counts.users,
    missing,
    problems,
    repaired,
    conflicts: conflicts.length,
  };
}

export function formatReports(reports: readonly EventReport[]): string {
  const head = ['event', 'stock', 'remaining', 'buyers', 'in stream', 'mysql orders', 'mysql users', 'missing', 'repaired', 'conflicts', 'status'];
  const rows = reports.map((r) => [
    r.event, r.stock, r.remaining, r.buyers, r.inStream, r.mysqlOrders, r.mysqlUsers, r.missing, r.repaired, r.conflicts,
    r.problems.length === 0 ? 'ok' : 'MISMATCH',
  ].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const details = reports.flatMap((r) => r.problems.map((p) => `  ${r.event}: ${p}`));
  return [line(head), ...rows.map(line), ...(details.length > 0 ? ['', ...details] : [])].join('\n');
}
