/**
 * Every Redis key the project uses, built in one place. One event is one hash
 * tag `{EVENT}`, so all of an event's keys live in one Cluster slot and one
 * script call may touch them all.
 */
export const EVENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface EventKeys {
  /** hash: stock (initial), start, end (ms since epoch), name; restoring + lease while a restore from MySQL runs */
  readonly meta: string;
  /** string int: units remaining */
  readonly stock: string;
  /** hash: user id → order number (the one-per-user marker) */
  readonly buyers: string;
  /** stream: one entry per buy batch with wins (o first order number, u per win) or settlement; see lua/buy-8.lua */
  readonly orders: string;
  /** string int: the last order number granted */
  readonly seq: string;
  /** sharded pub/sub channel (same slot as the event): "sold out", "changed" */
  readonly news: string;
  /** zset: order number → payment deadline (ms), for orders won and not yet paid or expired (payWithin > 0) */
  readonly due: string;
  /** hash: order number → user id, for the orders in `due` (expiry and payment name the user in the stream) */
  readonly owners: string;
  /** set: order numbers paid */
  readonly paid: string;
  /** hash: order number → user, orders expired unpaid (their unit went back into stock; their user stays in buyers) */
  readonly expired: string;
  /** hash: process id → its answer counts for this event, published about once a second (metrics/fleet-counts.ts) */
  readonly answers: string;
  /** stream: the dashboard's samples of the sale, one per second (src/dashboard/history.ts); capped, expires a week after the last */
  readonly history: string;
  /** zset, every score 0: `<score><entrant key>` (64 + 64 hex) per entrant of the draw at the opening, so ZRANGE is the draw's order */
  readonly draw: string;
  /** hash: entrant key → `<q> <user>`, then `<q> <won> <user>` once the draw is decided (lua/drawEnter-4.lua, drawDecide-9.lua) */
  readonly entrants: string;
}

export function eventKeys(event: string): EventKeys {
  const tag = `sk:{${event}}:`;
  return Object.freeze({
    meta: tag + 'meta',
    stock: tag + 'stock',
    buyers: tag + 'buyers',
    orders: tag + 'orders',
    seq: tag + 'seq',
    news: tag + 'news',
    due: tag + 'due',
    owners: tag + 'owners',
    paid: tag + 'paid',
    expired: tag + 'expired',
    answers: tag + 'answers',
    history: tag + 'history',
    draw: tag + 'draw',
    entrants: tag + 'entrants',
  });
}

/** hash: process id → its answers refused before an event was found (metrics/fleet-counts.ts). */
export const REFUSED_KEY = 'sk:refused';

/** SCAN pattern matching every event's meta key. */
export const META_PATTERN = 'sk:{*}:meta';

/** Sharded pub/sub channel carrying the id of each event created, changed or restored. */
export const NEWS_CHANNEL = 'sk:news';

/** The event id inside a news channel name, or undefined. */
export function eventOfNewsChannel(channel: string): string | undefined {
  const m = /^sk:\{([A-Za-z0-9_-]{1,64})\}:news$/.exec(channel);
  return m?.[1];
}

/** The event id inside a meta key, or undefined for any other key. */
export function eventOfMetaKey(key: string): string | undefined {
  const m = /^sk:\{([A-Za-z0-9_-]{1,64})\}:meta$/.exec(key);
  return m?.[1];
}
