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
 * number for another user, or that user with another order number. That
 * happens only when Redis lost data; such orders are returned, never
 * silently dropped.
 */
export async function writeOrders(db: Pool | PoolConnection, eventId: string, orders: readonly StreamOrder[]): Promise<OrderConflict[]> {
  if (orders.length === 0) return [];
  const [res] = await db.query<ResultSetHeader>('INSERT IGNORE INTO orders (event_id, order_no, user_id, created) VALUES ?', [
    orders.map((o) => [eventId, o.orderNo, o.user, o.created]),
  ]);
  if (res.affectedRows === orders.length) return [];
  const [rows] = await db.query<RowDataPacket[]>(
    'SELECT order_no, user_id FROM orders WHERE event_id = ? AND (order_no IN (?) OR user_id IN (?))',
    [eventId, orders.map((o) => o.orderNo), orders.map((o) => o.user)],
  );
  const userOf = new Map<number, string>();
  const orderOf = new Map<string, number>();
  for (const r of rows) {
    userOf.set(Number(r.order_no), String(r.user_id));
    orderOf.set(String(r.user_id), Number(r.order_no));
  }
  const conflicts: OrderConflict[] = [];
  for (const o of orders) {
    const holder = userOf.get(o.orderNo);
    if (holder === o.user) continue;
    const reason =
      holder !== undefined
        ? `order ${o.orderNo} is stored for user ${holder}`
        : `user ${o.user} already has order ${orderOf.get(o.user) ?? '?'}`;
    conflicts.push({ order: o, reason });
  }
  return conflicts;
}

/** Keeps conflicting orders in `order_conflicts` (idempotent: the same conflict is kept once). */
export async function keepConflicts(db: Pool | PoolConnection, eventId: string, conflicts: readonly OrderConflict[]): Promise<void> {
  if (conflicts.length === 0) return;
  await db.query('INSERT IGNORE INTO order_conflicts (event_id, order_no, user_id, created, reason) VALUES ?', [
    conflicts.map((c) => [eventId, c.order.orderNo, c.order.user, c.order.created, c.reason]),
  ]);
}
