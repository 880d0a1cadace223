import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { EventDefinition } from '../redis/scripts';

export interface StoredEvent extends EventDefinition {
  readonly id: string;
}

/** The `events` table: the source of truth for what is on sale. */
export class EventStore {
  constructor(readonly pool: Pool) {}

  /** Writes the definition inside the caller's transaction. */
  async save(conn: PoolConnection, id: string, def: EventDefinition): Promise<void> {
    await conn.query(
      `INSERT INTO events (id, name, stock, start_ms, end_ms) VALUES (?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE name = VALUES(name), stock = VALUES(stock), start_ms = VALUES(start_ms), end_ms = VALUES(end_ms)`,
      [id, def.name, def.stock, def.start, def.end],
    );
  }

  /** Events whose sale has not ended at `now`. */
  async notEnded(now: number): Promise<StoredEvent[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT id, name, stock, start_ms, end_ms FROM events WHERE end_ms > ? ORDER BY id',
      [now],
    );
    return rows.map((r) => ({
      id: String(r.id),
      name: String(r.name),
      stock: Number(r.stock),
      start: Number(r.start_ms),
      end: Number(r.end_ms),
    }));
  }

  /** user → order number of every order stored for an event. */
  async orders(eventId: string): Promise<Map<string, number>> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT user_id, order_no FROM orders WHERE event_id = ?', [eventId]);
    return new Map(rows.map((r) => [String(r.user_id), Number(r.order_no)]));
  }

  /** How many orders, and how many distinct users, an event has in MySQL. */
  async counts(eventId: string): Promise<{ orders: number; users: number }> {
    const [[row]] = await this.pool.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS orders, COUNT(DISTINCT user_id) AS users FROM orders WHERE event_id = ?',
      [eventId],
    );
    return { orders: Number(row?.orders ?? 0), users: Number(row?.users ?? 0) };
  }

  /** Whether this exact order is stored. */
  async hasOrder(eventId: string, orderNo: number, user: string): Promise<boolean> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT 1 FROM orders WHERE event_id = ? AND order_no = ? AND user_id = ?',
      [eventId, orderNo, user],
    );
    return rows.length > 0;
  }
}
