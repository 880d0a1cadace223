import type { Pool } from 'mysql2/promise';
import type { EventStore } from '../events/event-store';
import { eventKeys } from '../redis/keys';
import type { RedisClient } from '../redis/scripts';
import { keepConflicts, writeOrders, writePayments } from './order-writer';
import { parseEntries, type StreamOrder } from './stream';
import { reconcileLots } from './reconcile-lots';
import type { EventReport } from './reconcile-report';

export type { EventReport, SkuReport } from './reconcile-report';

/**
 * Compares, for one event, Redis (initial stock, remaining, buyers, orders
 * due / paid / expired, the stream's backlog) with MySQL (orders, distinct
 * users, order numbers, settlements), and checks
 * remaining + due + paid + final = stock (final: won with no deadline).
 * Read in this order (buyers, stream, MySQL) so an order moving from the
 * stream to MySQL meanwhile is never counted missing. With `repair`, orders
 * Redis granted that are in neither place are written to MySQL from the
 * buyers hash (their time is unknown: now).
 */
export async function reconcileEvent(redis: RedisClient, pool: Pool, store: EventStore, event: string, repair: boolean): Promise<EventReport> {
  const k = eventKeys(event);
  // An event sold in lots is checked in units (its buyers hash holds units and orders).
  if ((await redis.hexists(k.meta, 'limit')) === 1) return reconcileLots(redis, pool, store, event, k, repair);
  // One MULTI: the sale state read at one instant (a sweep or payment may run meanwhile).
  const snapshot = await redis
    .multi()
    .hmget(k.meta, 'stock', 'payWithin')
    .get(k.stock)
    .get(k.seq)
    .hgetall(k.buyers)
    .zrange(k.due, 0, -1, 'WITHSCORES')
    .smembers(k.paid)
    .hkeys(k.expired)
    .exec();
  const part = <T>(i: number): T => snapshot?.[i]?.[1] as T;
  const [stockText, payWithinText] = part<(string | null)[]>(0);
  const remainingText = part<string | null>(1);
  const seqText = part<string | null>(2);
  const buyerMap = part<Record<string, string>>(3);
  const dueFlat = part<string[]>(4);
  const due = new Map<number, number>();
  for (let i = 0; i + 1 < dueFlat.length; i += 2) due.set(Number(dueFlat[i]), Number(dueFlat[i + 1]));
  const paid = new Set(part<string[]>(5).map(Number));
  const expired = new Set(part<string[]>(6).map(Number));
  const entries = parseEntries(await redis.xrange(k.orders, '-', '+'));
  const inStream = new Set(entries.map((o) => o.user));
  const settledInStream = new Set(entries.filter((o) => o.settled !== undefined).map((o) => o.orderNo));
  let mysql = await store.orders(event);
  let payments = await store.payments(event);
  const stock = Number(stockText ?? 0);
  const remaining = Number(remainingText ?? 0);
  const buyers = new Map(Object.entries(buyerMap).map(([u, o]) => [u, Number(o)]));
  const problems: string[] = [];

  if (stockText == null) problems.push('no event meta in Redis');
  // Every buyer's order is due, paid, expired or (no deadline) final; only an expired one gave its unit back.
  const final = buyers.size - due.size - paid.size - expired.size;
  if (remaining + due.size + paid.size + final !== stock) {
    problems.push(`remaining ${remaining} + due ${due.size} + paid ${paid.size} + final ${final} != stock ${stock}`);
  }
  const granted = new Set(buyers.values());
  for (const [name, set] of [['due', [...due.keys()]], ['paid', [...paid]], ['expired', [...expired]]] as const) {
    const stray = set.filter((o) => !granted.has(o));
    if (stray.length > 0) problems.push(`${stray.length} ${name} order number(s) no buyer holds, first ${stray[0]}`);
  }
  const twice = [...paid].filter((o) => expired.has(o) || due.has(o)).concat([...expired].filter((o) => due.has(o)));
  if (twice.length > 0) problems.push(`${twice.length} order(s) in two payment states at once, first ${twice[0]}`);
  if (Number(payWithinText ?? 0) > 0 && final !== 0) problems.push(`${final} order(s) of an event with a payment deadline are neither due, paid nor expired`);
  for (const [order, state] of payments) {
    if ((state === 'paid' ? paid : expired).has(order)) continue;
    problems.push(`MySQL has order ${order} ${state}, Redis has it ${paid.has(order) ? 'paid' : expired.has(order) ? 'expired' : due.has(order) ? 'due' : 'nowhere'}`);
  }
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
    const orders = lost.map(([user, orderNo]) => ({ id: '', orderNo, user, created: now, payBy: due.get(orderNo) ?? null }));
    const refused = await writeOrders(pool, event, orders);
    await keepConflicts(pool, event, refused);
    repaired = lost.length - refused.length;
    mysql = await store.orders(event);
  }
  const missing = notStored().length;
  if (missing > 0) problems.push(`${missing} order(s) granted by Redis are in neither MySQL nor the stream`);
  const userOf = new Map([...buyers].map(([u, o]) => [o, u]));
  const unsettled = (): StreamOrder[] =>
    [...[...paid].map((o) => [o, 'paid'] as const), ...[...expired].map((o) => [o, 'expired'] as const)]
      .filter(([o]) => !payments.has(o) && !settledInStream.has(o))
      .map(([orderNo, settled]) => ({ id: '', orderNo, user: userOf.get(orderNo) ?? '', created: new Date(), settled }));
  if (repair && unsettled().length > 0) {
    await keepConflicts(pool, event, await writePayments(pool, event, unsettled()));
    payments = await store.payments(event);
  }
  const missingSettled = unsettled().length;
  if (missingSettled > 0) problems.push(`${missingSettled} payment state(s) set in Redis are in neither MySQL nor the stream`);
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
    due: due.size,
    paid: paid.size,
    expired: expired.size,
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
  // Events with a payment deadline: how their buyers' orders stand (the table's columns stay as they were).
  const payments = reports
    .filter((r) => r.due + r.paid + r.expired > 0)
    .map((r) => `  ${r.event}: payments: due ${r.due}, paid ${r.paid}, expired ${r.expired} (back in stock)`);
  // Events sold in lots: orders and units per SKU.
  const lots = reports.flatMap((r) =>
    r.skus === undefined
      ? []
      : [`  ${r.event}: ${r.orders ?? 0} orders; ` + Object.entries(r.skus).map(([id, s]) => `${id === '' ? 'units' : id} ${s.sold} sold, ${s.remaining} left of ${s.stock} (${s.orders} orders)`).join('; ')],
  );
  const details = [...lots, ...payments, ...reports.flatMap((r) => r.problems.map((p) => `  ${r.event}: ${p}`))];
  return [line(head), ...rows.map(line), ...(details.length > 0 ? ['', ...details] : [])].join('\n');
}
