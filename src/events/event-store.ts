import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { NO_DRAW, NOT_PAUSED, parseSkuText, powText, skuText, type DrawState, type EventDefinition, type PauseState } from '../sale';
import { readPow } from './definition';
import type { PublishedEntrant } from './draw';

export interface StoredEvent extends EventDefinition {
  readonly id: string;
  readonly pause: PauseState;
  /** The draw's seed and, once decided, its decision (a restore puts them back). */
  readonly draw: DrawState;
}

function toEvent(r: RowDataPacket, pause: PauseState = NOT_PAUSED, draw: DrawState = NO_DRAW): StoredEvent {
  const limit = Number(r.per_user ?? 1);
  const skus = parseSkuText(r.skus as string | null);
  return {
    id: String(r.id),
    name: String(r.name),
    stock: Number(r.stock),
    start: Number(r.start_ms),
    end: Number(r.end_ms),
    payWithin: Number(r.pay_within_s ?? 0),
    pow: readPow(r.pow as string | null),
    drawMs: Number(r.draw_ms ?? 0),
    ...(limit > 1 ? { limit } : {}),
    ...(skus === undefined ? {} : { skus }),
    pause,
    draw: { ...draw, seed: r.draw_seed == null ? '' : String(r.draw_seed) },
  };
}

/** A stored order as a restore needs it: its payment deadline (0: none) and settlement ('p', 'x' or ''). */
export interface StoredOrder {
  readonly user: string;
  readonly order: number;
  /** Its units and SKU ('' for none): 1 and '' on a one-unit event. */
  readonly qty: number;
  readonly sku: string;
  readonly payBy: number;
  readonly state: '' | 'p' | 'x';
}

const EVENT_COLUMNS = 'id, name, stock, start_ms, end_ms, pay_within_s, pow, draw_ms, draw_seed, per_user, skus';

/** The `events` table: the source of truth for what is on sale. */
export class EventStore {
  constructor(readonly pool: Pool) {}

  /**
   * Runs `work` in a READ COMMITTED transaction (so reads after taking a
   * row lock see every commit made before it); `work` says whether to commit.
   */
  async inLockedTransaction<T>(work: (conn: PoolConnection) => Promise<[T, boolean]>): Promise<T> {
    const conn = await this.pool.getConnection();
    try {
      await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await conn.beginTransaction();
      const [value, commit] = await work(conn);
      if (commit) await conn.commit();
      else await conn.rollback();
      return value;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  /** Writes the definition inside the caller's transaction. */
  async save(conn: PoolConnection, id: string, def: EventDefinition): Promise<void> {
    await conn.query(
      `INSERT INTO events (id, name, stock, start_ms, end_ms, pay_within_s, pow, draw_ms, per_user, skus) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE name = VALUES(name), stock = VALUES(stock), start_ms = VALUES(start_ms), end_ms = VALUES(end_ms),
         pay_within_s = VALUES(pay_within_s), pow = VALUES(pow), draw_ms = VALUES(draw_ms), per_user = VALUES(per_user), skus = VALUES(skus)`,
      [
        id, def.name, def.stock, def.start, def.end, def.payWithin ?? 0, def.pow === undefined ? null : powText(def.pow), def.drawMs ?? 0,
        def.limit ?? 1, def.skus === undefined ? null : skuText(def),
      ],
    );
  }

  /** The draw seed Redis holds after a put (lua/putEvent-4.lua), inside the put's transaction. */
  async saveSeed(conn: PoolConnection, id: string, seed: string): Promise<void> {
    await conn.query('UPDATE events SET draw_seed = ? WHERE id = ?', [seed, id]);
    // A new seed voids a draw decided with the old one (a change after a draw nobody entered): a restore must not
    // put that decision back, and the new draw's must be written in its place.
    for (const table of ['event_draws', 'draw_entrants']) await conn.query(`DELETE FROM ${table} WHERE event_id = ?`, [id]);
  }

  /**
   * A decided draw and its published list (autocommit, idempotent: written
   * again, it changes nothing). Entrants first, the decision last, so a
   * decision in MySQL always has its whole list.
   */
  async saveDraw(id: string, draw: DrawState, entrants: readonly PublishedEntrant[]): Promise<void> {
    for (let i = 0; i < entrants.length; i += 1000) {
      const rows = entrants.slice(i, i + 1000).map((e) => [id, e.key, e.asked, e.won]);
      await this.pool.query('INSERT IGNORE INTO draw_entrants (event_id, entrant_key, asked, won) VALUES ?', [rows]);
    }
    await this.pool.query('INSERT IGNORE INTO event_draws (event_id, decided_ms, entrants, stock) VALUES (?, ?, ?, ?)', [
      id, draw.decided, draw.entrants, draw.stock,
    ]);
  }

  /** A decided draw as MySQL keeps it (no lock: a restore reads it after taking the events row); the seed is not read here. */
  async drawOf(conn: PoolConnection | Pool, id: string): Promise<Omit<DrawState, 'seed'>> {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT decided_ms, entrants, stock FROM event_draws WHERE event_id = ?', [id]);
    const r = rows[0];
    return r === undefined ? { decided: 0, entrants: 0, stock: 0 } : { decided: Number(r.decided_ms), entrants: Number(r.entrants), stock: Number(r.stock) };
  }

  /** The published list of a decided draw, by entrant key. */
  async drawEntrants(id: string): Promise<PublishedEntrant[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT entrant_key, asked, won FROM draw_entrants WHERE event_id = ? ORDER BY entrant_key', [id]);
    return rows.map((r) => ({ key: String(r.entrant_key), asked: Number(r.asked), won: Number(r.won) }));
  }

  /**
   * A pause, before Redis takes it: the row says paused from `now` (kept if it
   * already did), so MySQL never lags a pause Redis holds. Autocommit, on the
   * event_pauses table: it waits for no lock a restore or a persister holds.
   */
  async pauseIntent(id: string, now: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO event_pauses (event_id, paused_since_ms, pauses) VALUES (?, ?, 1)
       ON DUPLICATE KEY UPDATE pauses = IF(paused_since_ms IS NULL, pauses + 1, pauses),
         paused_since_ms = COALESCE(paused_since_ms, VALUES(paused_since_ms))`,
      [id, now],
    );
  }

  /** The switch as Redis holds it after pauseEvent-2.lua (autocommit). */
  async savePause(id: string, pause: PauseState): Promise<void> {
    await this.pool.query(
      `INSERT INTO event_pauses (event_id, paused_since_ms, paused_total_ms, pauses) VALUES (?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE paused_since_ms = VALUES(paused_since_ms), paused_total_ms = VALUES(paused_total_ms), pauses = VALUES(pauses)`,
      [id, pause.since > 0 ? pause.since : null, pause.pausedMs, pause.pauses],
    );
  }

  /** The pause switch as the row keeps it (no lock: a restore reads it after taking the events row). */
  async pauseOf(conn: PoolConnection, id: string): Promise<PauseState> {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT paused_since_ms, paused_total_ms, pauses FROM event_pauses WHERE event_id = ?', [id]);
    const r = rows[0];
    return r === undefined ? NOT_PAUSED : { since: Number(r.paused_since_ms ?? 0), pausedMs: Number(r.paused_total_ms), pauses: Number(r.pauses) };
  }

  /**
   * Deletes every order of an event, with its payment, any conflict kept for
   * it and its pause switch, inside the caller's transaction (which holds the
   * row's lock): only for an event started afresh (not paused), whose old
   * orders a restore must not bring back.
   */
  async forgetOrders(conn: PoolConnection, id: string): Promise<void> {
    for (const table of ['orders', 'order_payments', 'order_conflicts', 'event_pauses', 'event_draws', 'draw_entrants']) await conn.query(`DELETE FROM ${table} WHERE event_id = ?`, [id]);
  }

  /**
   * Reads an event's row and locks it for the caller's transaction. The
   * persister takes a shared lock on the same row around each batch it
   * stores, so holding this lock means no batch is between its stream read
   * and its commit: every order a persister took from Redis is in MySQL.
   */
  async lock(conn: PoolConnection, id: string): Promise<StoredEvent | undefined> {
    const [rows] = await conn.query<RowDataPacket[]>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE id = ? FOR UPDATE`,
      [id],
    );
    const r = rows[0];
    return r === undefined ? undefined : toEvent(r, await this.pauseOf(conn, id), { ...NO_DRAW, ...(await this.drawOf(conn, id)) });
  }

  /** Up to `limit` orders with order numbers above `after`, in order (a keyset page), with their payment state. */
  async ordersAfter(conn: PoolConnection, eventId: string, after: number, limit: number): Promise<StoredOrder[]> {
    const [rows] = await conn.query<RowDataPacket[]>(
      `SELECT o.user_id, o.order_no, o.qty, o.sku, o.pay_by_ms, p.state FROM orders o
       LEFT JOIN order_payments p ON p.event_id = o.event_id AND p.order_no = o.order_no
       WHERE o.event_id = ? AND o.order_no > ? ORDER BY o.order_no LIMIT ?`,
      [eventId, after, limit],
    );
    return rows.map((r) => ({
      user: String(r.user_id),
      order: Number(r.order_no),
      qty: Number(r.qty ?? 1),
      sku: String(r.sku ?? ''),
      payBy: Number(r.pay_by_ms ?? 0),
      state: r.state === 'paid' ? 'p' : r.state === 'expired' ? 'x' : '',
    }));
  }

  /** order number → 'paid' | 'expired' for every settlement stored for an event. */
  async payments(eventId: string): Promise<Map<number, 'paid' | 'expired'>> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT order_no, state FROM order_payments WHERE event_id = ?', [eventId]);
    return new Map(rows.map((r) => [Number(r.order_no), r.state === 'paid' ? 'paid' : 'expired']));
  }

  /** Events whose sale has not ended at `now`. */
  async notEnded(now: number): Promise<StoredEvent[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE end_ms > ? ORDER BY id`,
      [now],
    );
    return rows.map((r) => toEvent(r));
  }

  /** Whether MySQL has the event's definition. */
  async has(id: string): Promise<boolean> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT 1 FROM events WHERE id = ?', [id]);
    return rows.length > 0;
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

  /** Every order of an event sold in lots: order number → its user, units and SKU. */
  async lots(eventId: string): Promise<Map<number, { user: string; qty: number; sku: string }>> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT order_no, user_id, qty, sku FROM orders WHERE event_id = ?', [eventId]);
    return new Map(rows.map((r) => [Number(r.order_no), { user: String(r.user_id), qty: Number(r.qty), sku: String(r.sku) }]));
  }

  /** One user's orders of an event, by order number: units and SKU (the order query of an event sold in lots). */
  async userOrders(eventId: string, user: string): Promise<Set<number>> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT order_no FROM orders WHERE event_id = ? AND user_id = ?', [eventId, user]);
    return new Set(rows.map((r) => Number(r.order_no)));
  }

  /** Orders kept in order_conflicts for an event, oldest first. */
  async conflicts(eventId: string): Promise<{ orderNo: number; user: string; reason: string }[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT order_no, user_id, reason FROM order_conflicts WHERE event_id = ? ORDER BY detected, order_no',
      [eventId],
    );
    return rows.map((r) => ({ orderNo: Number(r.order_no), user: String(r.user_id), reason: String(r.reason) }));
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
