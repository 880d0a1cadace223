import type { Connection, RowDataPacket } from 'mysql2/promise';

/**
 * The schema, as numbered steps applied once each, in order, under a named
 * lock (several servers may start at once). Never edit a step that has
 * shipped: add the next one.
 *
 * Identifiers and user ids are compared byte for byte (utf8mb4_bin), as
 * Redis does. The database itself refuses a second order in the same
 * place of a user's orders: UNIQUE (event_id, user_id, nth), nth being 1 for
 * every order of a one-unit event (so one order per user there, as before).
 */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE IF NOT EXISTS events (
      id VARCHAR(64) NOT NULL,
      name VARCHAR(200) NOT NULL DEFAULT '',
      stock INT UNSIGNED NOT NULL,
      start_ms BIGINT NOT NULL,
      end_ms BIGINT NOT NULL,
      created DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    `CREATE TABLE IF NOT EXISTS orders (
      event_id VARCHAR(64) NOT NULL,
      order_no INT UNSIGNED NOT NULL,
      user_id VARCHAR(128) NOT NULL,
      created DATETIME(3) NOT NULL,
      PRIMARY KEY (event_id, order_no),
      UNIQUE KEY one_unit_per_user (event_id, user_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
  // Orders the persister could not store because MySQL holds another order
  // with that number, or another order for that user (Redis lost data). Kept
  // here instead of being dropped; reconcile reports them and exits 1.
  [
    `CREATE TABLE IF NOT EXISTS order_conflicts (
      event_id VARCHAR(64) NOT NULL,
      order_no INT UNSIGNED NOT NULL,
      user_id VARCHAR(128) NOT NULL,
      created DATETIME(3) NOT NULL,
      reason VARCHAR(300) NOT NULL,
      detected DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (event_id, order_no, user_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
  // Payment deadlines: an event's payWithin (seconds; 0: a win is final), an
  // order's deadline (NULL: none), and each order's settlement, paid or
  // expired, as the persister reads it from the stream. A settlement is its
  // own row (not an UPDATE of the order) so it can be stored even if it
  // reaches MySQL before its order does (a batch taken over from another
  // persister), and writing it twice is a no-op.
  [
    'ALTER TABLE events ADD COLUMN pay_within_s INT UNSIGNED NOT NULL DEFAULT 0',
    'ALTER TABLE orders ADD COLUMN pay_by_ms BIGINT NULL',
    `CREATE TABLE IF NOT EXISTS order_payments (
      event_id VARCHAR(64) NOT NULL,
      order_no INT UNSIGNED NOT NULL,
      user_id VARCHAR(128) NOT NULL,
      state ENUM('paid', 'expired') NOT NULL,
      at DATETIME(3) NOT NULL,
      PRIMARY KEY (event_id, order_no)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
  // The pause switch (POST /admin/events/{e}/pause): since when (NULL: not
  // paused), the time paused over the pauses that ended, and how many. A
  // restore from MySQL puts it back into Redis. A table of its own, not
  // columns of `events`: a pause never waits for the events row, which a
  // restore holds locked for its whole run and a persister around each batch.
  [
    `CREATE TABLE IF NOT EXISTS event_pauses (
      event_id VARCHAR(64) NOT NULL,
      paused_since_ms BIGINT NULL,
      paused_total_ms BIGINT UNSIGNED NOT NULL DEFAULT 0,
      pauses INT UNSIGNED NOT NULL DEFAULT 0,
      PRIMARY KEY (event_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
  // An event's proof of work (ALTCHA), as JSON (src/sale.ts powText); NULL:
  // none. A restore puts it back into Redis with the rest of the definition.
  ['ALTER TABLE events ADD COLUMN pow VARCHAR(200) NULL'],
  // The draw at the opening (issue 24): an event's window (ms; 0: none) and
  // its seed (64 hex, chosen when it is defined), and once decided the draw
  // itself: when, among how many, over how many units, and every entrant's
  // key with the units asked and won. A restore puts the decision back, so a
  // restored event never draws twice nor forgets its seed, and the published
  // list outlives a Redis loss. Tables of their own: written once per event,
  // never waiting for the events row a restore or a persister holds.
  [
    'ALTER TABLE events ADD COLUMN draw_ms INT UNSIGNED NOT NULL DEFAULT 0',
    'ALTER TABLE events ADD COLUMN draw_seed CHAR(64) NULL',
    `CREATE TABLE IF NOT EXISTS event_draws (
      event_id VARCHAR(64) NOT NULL,
      decided_ms BIGINT NOT NULL,
      entrants INT UNSIGNED NOT NULL,
      stock INT UNSIGNED NOT NULL,
      PRIMARY KEY (event_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    `CREATE TABLE IF NOT EXISTS draw_entrants (
      event_id VARCHAR(64) NOT NULL,
      entrant_key CHAR(64) NOT NULL,
      asked INT UNSIGNED NOT NULL,
      won INT UNSIGNED NOT NULL,
      PRIMARY KEY (event_id, entrant_key)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
  // Events sold in lots (issue 23): a limit of units per user and a stock per
  // SKU; an order has its units (qty), its SKU ('' for none) and its place
  // among the user's orders (nth, from 1): UNIQUE (event_id, user_id, nth)
  // replaces one order per user, which is what it still means for an event
  // with limit 1 and no SKUs (each order there is its user's first).
  [
    `ALTER TABLE events ADD COLUMN per_user SMALLINT UNSIGNED NOT NULL DEFAULT 1, ADD COLUMN skus TEXT NULL`,
    `ALTER TABLE orders ADD COLUMN qty SMALLINT UNSIGNED NOT NULL DEFAULT 1, ADD COLUMN sku VARCHAR(32) NOT NULL DEFAULT '',
      ADD COLUMN nth SMALLINT UNSIGNED NOT NULL DEFAULT 1,
      ADD UNIQUE KEY user_order_place (event_id, user_id, nth), DROP INDEX one_unit_per_user`,
    `ALTER TABLE order_conflicts ADD COLUMN qty SMALLINT UNSIGNED NOT NULL DEFAULT 1, ADD COLUMN sku VARCHAR(32) NOT NULL DEFAULT ''`,
  ],
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** On a connection of its own: taking the lock may wait up to a minute for another server's migration. */
export async function applySchema(conn: Connection): Promise<number> {
  try {
    const [[lock]] = await conn.query<RowDataPacket[]>("SELECT GET_LOCK('seckill_schema', 60) AS got");
    if (lock?.got !== 1) throw new Error('could not take the schema lock within 60 s');
    await conn.query(
      'CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL PRIMARY KEY, applied DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))',
    );
    const [[row]] = await conn.query<RowDataPacket[]>('SELECT COALESCE(MAX(version), 0) AS v FROM schema_version');
    const current = Number(row?.v ?? 0);
    if (current > SCHEMA_VERSION) throw new Error(`database schema is version ${current}, newer than this server's ${SCHEMA_VERSION}`);
    for (let v = current; v < SCHEMA_VERSION; v++) {
      for (const sql of MIGRATIONS[v] ?? []) await conn.query(sql);
      await conn.query('INSERT INTO schema_version (version) VALUES (?)', [v + 1]);
    }
    return SCHEMA_VERSION;
  } finally {
    await conn.query("SELECT RELEASE_LOCK('seckill_schema')").catch(() => undefined);
  }
}
