import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { StreamOrder } from './stream';

/** An order MySQL cannot take: its number or its user is already stored with another partner. */
export interface OrderConflict {
  readonly order: StreamOrder;
  readonly reason: string;
}

/**
 * Writes a batch of orders with one multi-row INSERT. A row already there
 * with the same number and user is the same order written before (a batch
 * retried): fine. Any other duplicate is a conflict: MySQL holds that order
 * number for another user, or that user's order in the same place among
 * their orders (nth: always 1 on a one-unit event, so one order per user
 * there) under another number. That happens only when Redis lost data;
 * such orders are returned, never silently dropped.
 */
export async function writeOrders(db: Pool | PoolConnection, eventId: string, orders: readonly StreamOrder[]): Promise<OrderConflict[]> {
  if (orders.length === 0) return [];
  const [res] = await db.query<ResultSetHeader>('INSERT IGNORE INTO orders (event_id, order_no, user_id, created, pay_by_ms, qty, sku, nth) VALUES ?', [
    orders.map((o) => [eventId, o.orderNo, o.user, o.created, o.payBy ?? null, o.qty ?? 1, o.sku ?? '', o.nth ?? 1]),
  ]);
  if (res.affectedRows === orders.length) return [];
  const [rows] = await db.query<RowDataPacket[]>(
    'SELECT order_no, user_id, nth FROM orders WHERE event_id = ? AND (order_no IN (?) OR user_id IN (?))',
    [eventId, orders.map((o) => o.orderNo), orders.map((o) => o.user)],
  );
  const userOf = new Map<number, string>();
  const orderOf = new Map<string, number>();
  for (const r of rows) {
    userOf.set(Number(r.order_no), String(r.user_id));
    orderOf.set(`${String(r.user_id)}\n${Number(r.nth)}`, Number(r.order_no));
  }
  const conflicts: OrderConflict[] = [];
  for (const o of orders) {
    const holder = userOf.get(o.orderNo);
    if (holder === o.user) continue;
    const nth = o.nth ?? 1;
    const reason =
      holder !== undefined
        ? `order ${o.orderNo} is stored for user ${holder}`
        : `user ${o.user} already has order ${orderOf.get(`${o.user}\n${nth}`) ?? '?'}${nth > 1 ? ` as their order ${nth}` : ''}`;
    conflicts.push({ order: o, reason });
  }
  return conflicts;
}

/** Keeps conflicting orders in `order_conflicts` (idempotent: the same conflict is kept once). */
export async function keepConflicts(db: Pool | PoolConnection, eventId: string, conflicts: readonly OrderConflict[]): Promise<void> {
  if (conflicts.length === 0) return;
  await db.query('INSERT IGNORE INTO order_conflicts (event_id, order_no, user_id, created, reason, qty, sku) VALUES ?', [
    conflicts.map((c) => [eventId, c.order.orderNo, c.order.user, c.order.created, c.reason, c.order.qty ?? 1, c.order.sku ?? '']),
  ]);
}

/**
 * Writes settlements (paid / expired) with one multi-row INSERT IGNORE into
 * `order_payments`. Redis settles an order once, so a row already there
 * with the same user and state is this settlement written before (a retried
 * batch). One that differs can only come from Redis losing data: it is
 * returned as a conflict, like an order's.
 */
export async function writePayments(db: Pool | PoolConnection, eventId: string, settlements: readonly StreamOrder[]): Promise<OrderConflict[]> {
  if (settlements.length === 0) return [];
  const [res] = await db.query<ResultSetHeader>('INSERT IGNORE INTO order_payments (event_id, order_no, user_id, state, at) VALUES ?', [
    settlements.map((o) => [eventId, o.orderNo, o.user, o.settled, o.created]),
  ]);
  if (res.affectedRows === settlements.length) return [];
  const [rows] = await db.query<RowDataPacket[]>('SELECT order_no, user_id, state FROM order_payments WHERE event_id = ? AND order_no IN (?)', [
    eventId,
    settlements.map((o) => o.orderNo),
  ]);
  const stored = new Map(rows.map((r) => [Number(r.order_no), { user: String(r.user_id), state: String(r.state) }]));
  const conflicts: OrderConflict[] = [];
  for (const o of settlements) {
    const row = stored.get(o.orderNo);
    if (row === undefined || (row.user === o.user && row.state === o.settled)) continue;
    conflicts.push({ order: o, reason: `order ${o.orderNo} is stored as ${row.state} for user ${row.user}; Redis says ${o.settled ?? '?'}` });
  }
  return conflicts;
}
