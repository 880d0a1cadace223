import type { Pool } from 'mysql2/promise';
import type { EventStore } from '../events/event-store';
import { parseHolding } from '../redis/lots';
import type { EventKeys } from '../redis/keys';
import type { RedisClient } from '../redis/scripts';
import { parseSkuText } from '../sale';
import { keepConflicts, writeOrders, writePayments } from './order-writer';
import type { EventReport, SkuReport } from './reconcile-report';
import { parseEntries, type StreamOrder } from './stream';

interface Granted {
  readonly user: string;
  readonly q: number;
  readonly sku: string;
  readonly nth: number;
}

/**
 * reconcileEvent for an event sold in lots (a limit above 1, or SKUs), in
 * units: each SKU's count plus the units of its orders that did not expire
 * is its stock, the count is their sum, no user holds more than the limit,
 * every order Redis granted is in MySQL (same user, units and SKU) or the
 * stream, and MySQL has no order Redis never granted.
 */
export async function reconcileLots(redis: RedisClient, pool: Pool, store: EventStore, event: string, k: EventKeys, repair: boolean): Promise<EventReport> {
  const snapshot = await redis
    .multi()
    .hmget(k.meta, 'stock', 'payWithin', 'limit', 'skus')
    .get(k.stock)
    .get(k.seq)
    .hgetall(k.buyers)
    .zrange(k.due, 0, -1, 'WITHSCORES')
    .smembers(k.paid)
    .hkeys(k.expired)
    .hgetall(k.meta)
    .exec();
  const part = <T>(i: number): T => snapshot?.[i]?.[1] as T;
  const [stockText, payWithinText, limitText, skuText] = part<(string | null)[]>(0);
  const remaining = Number(part<string | null>(1) ?? 0);
  const seq = Number(part<string | null>(2) ?? 0);
  const buyerMap = part<Record<string, string>>(3);
  const dueFlat = part<string[]>(4);
  const due = new Map<number, number>();
  for (let i = 0; i + 1 < dueFlat.length; i += 2) due.set(Number(dueFlat[i]), Number(dueFlat[i + 1]));
  const paid = new Set(part<string[]>(5).map(Number));
  const expired = new Set(part<string[]>(6).map(Number));
  const meta = part<Record<string, string>>(7);
  const stock = Number(stockText ?? 0);
  const limit = Number(limitText ?? 1);
  const skuStocks = parseSkuText(skuText) ?? { '': stock };
  const problems: string[] = [];

  const granted = new Map<number, Granted>();
  let overLimit = 0;
  for (const [user, value] of Object.entries(buyerMap)) {
    const h = parseHolding(value);
    if (h.units > limit) overLimit++;
    if (h.orders.reduce((n, o) => n + o.q, 0) !== h.units) problems.push(`${user}: holds ${h.units} units but their orders add up otherwise`);
    h.orders.forEach((o, i) => {
      if (granted.has(o.order)) problems.push(`order ${o.order} is held by two users`);
      granted.set(o.order, { user, q: o.q, sku: o.sku, nth: i + 1 });
    });
  }
  if (overLimit > 0) problems.push(`${overLimit} user(s) hold more than the limit of ${limit}`);
  const skus: Record<string, SkuReport> = {};
  let leftSum = 0;
  for (const [sku, skuStock] of Object.entries(skuStocks)) {
    const left = Number(meta[`sku:${sku}`] ?? NaN);
    let sold = 0;
    let orders = 0;
    for (const [order, g] of granted) {
      if (g.sku !== sku) continue;
      orders++;
      if (!expired.has(order)) sold += g.q;
    }
    leftSum += left;
    skus[sku] = { stock: skuStock, remaining: left, sold, orders };
    if (left + sold !== skuStock) problems.push(`SKU ${sku === '' ? '(none)' : sku}: remaining ${left} + units sold ${sold} != stock ${skuStock}`);
  }
  if (leftSum !== remaining) problems.push(`remaining ${remaining} != the SKUs' counts' sum ${leftSum}`);
  for (const [order, g] of granted) if (!(g.sku in skuStocks)) problems.push(`order ${order} is of SKU ${g.sku}, which the event does not have`);
  if (stockText == null) problems.push('no event meta in Redis');
  const numbers = [...granted.keys()];
  if (numbers.some((o) => o < 1 || o > seq)) problems.push(`Redis order numbers are not all in 1..${seq}`);
  for (const [name, set] of [['due', [...due.keys()]], ['paid', [...paid]], ['expired', [...expired]]] as const) {
    const stray = set.filter((o) => !granted.has(o));
    if (stray.length > 0) problems.push(`${stray.length} ${name} order number(s) no buyer holds, first ${stray[0]}`);
  }
  const twice = [...paid].filter((o) => expired.has(o) || due.has(o)).concat([...expired].filter((o) => due.has(o)));
  if (twice.length > 0) problems.push(`${twice.length} order(s) in two payment states at once, first ${twice[0]}`);
  const final = granted.size - due.size - paid.size - expired.size;
  if (Number(payWithinText ?? 0) > 0 && final !== 0) problems.push(`${final} order(s) of an event with a payment deadline are neither due, paid nor expired`);

  const entries = parseEntries(await redis.xrange(k.orders, '-', '+'));
  const inStream = new Set(entries.filter((o) => o.settled === undefined).map((o) => o.orderNo));
  const settledInStream = new Set(entries.filter((o) => o.settled !== undefined).map((o) => o.orderNo));
  let mysql = await store.lots(event);
  let payments = await store.payments(event);
  for (const [order, row] of mysql) {
    const g = granted.get(order);
    if (g === undefined) problems.push(`MySQL has order ${order} for ${row.user} that Redis never granted`);
    else if (g.user !== row.user || g.q !== row.qty || g.sku !== row.sku) {
      problems.push(`order ${order}: MySQL ${row.user} ${row.qty} ${row.sku}, Redis ${g.user} ${g.q} ${g.sku}`);
    }
  }
  for (const [order, state] of payments) {
    if ((state === 'paid' ? paid : expired).has(order)) continue;
    problems.push(`MySQL has order ${order} ${state}, Redis has it ${paid.has(order) ? 'paid' : expired.has(order) ? 'expired' : due.has(order) ? 'due' : 'nowhere'}`);
  }
  const notStored = (): [number, Granted][] => [...granted].filter(([order]) => !mysql.has(order) && !inStream.has(order));
  let repaired = 0;
  const lost = notStored();
  if (repair && lost.length > 0) {
    const now = new Date();
    const orders: StreamOrder[] = lost.map(([orderNo, g]) => ({ id: '', orderNo, user: g.user, created: now, payBy: due.get(orderNo) ?? null, qty: g.q, sku: g.sku, nth: g.nth }));
    const refused = await writeOrders(pool, event, orders);
    await keepConflicts(pool, event, refused);
    repaired = lost.length - refused.length;
    mysql = await store.lots(event);
  }
  const missing = notStored().length;
  if (missing > 0) problems.push(`${missing} order(s) granted by Redis are in neither MySQL nor the stream`);
  const unsettled = (): StreamOrder[] =>
    [...[...paid].map((o) => [o, 'paid'] as const), ...[...expired].map((o) => [o, 'expired'] as const)]
      .filter(([o]) => !payments.has(o) && !settledInStream.has(o))
      .map(([orderNo, settled]) => ({ id: '', orderNo, user: granted.get(orderNo)?.user ?? '', created: new Date(), settled }));
  if (repair && unsettled().length > 0) {
    await keepConflicts(pool, event, await writePayments(pool, event, unsettled()));
    payments = await store.payments(event);
  }
  const missingSettled = unsettled().length;
  if (missingSettled > 0) problems.push(`${missingSettled} payment state(s) set in Redis are in neither MySQL nor the stream`);
  const counts = await store.counts(event);
  const conflicts = await store.conflicts(event);
  if (conflicts.length > 0) {
    problems.push(`${conflicts.length} conflicting order(s) kept in order_conflicts (told "won", refused by MySQL): settle each, then delete its row`);
    for (const c of conflicts.slice(0, 10)) problems.push(`  conflict: order ${c.orderNo} for ${c.user}: ${c.reason}`);
  }
  return {
    event,
    stock,
    remaining,
    buyers: Object.keys(buyerMap).length,
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
    orders: granted.size,
    skus,
  };
}
