import { randomBytes } from 'node:crypto';
import type { PoolConnection } from 'mysql2/promise';
import { eventKeys } from '../redis/keys';
import { sellsLots } from '../sale';
import { restoreBegin, RestoreBegin, restoreChunk, restoreEnd, type RedisClient } from '../redis/scripts';
import type { EventStore, StoredEvent } from './event-store';

/** Orders per MySQL page and per restoreChunk call. */
export const RESTORE_CHUNK = 5_000;
/** How long a restore may go without writing a chunk before another process may take it over. */
export const RESTORE_LEASE_MS = 15_000;

export type RestoreOutcome =
  | { readonly state: 'present' | 'busy' }
  | { readonly state: 'restored'; readonly orders: number; readonly remaining: number };

export class RestoreLostError extends Error {
  override name = 'RestoreLostError';
}

/**
 * Puts an event that Redis lost back from MySQL: its definition, every
 * stored order as a buyer with its payment state (paid, expired, or due
 * with its deadline: one already past expires at the next sweep), the order
 * counter at the highest stored number, and the stock less the orders that
 * did not expire. The caller holds the event's row lock
 * (EventStore.lock) in a READ COMMITTED transaction on `conn`, so no
 * persister is between reading orders from Redis and committing them: what
 * this reads is every order a persister took before the loss.
 *
 * In Redis it is three scripts: restoreBegin marks the event "restoring"
 * (buys answer 10, nothing is granted), restoreChunk writes the orders page
 * by page (any size: a million orders is 200 pages), restoreEnd opens the
 * sale with buyers, counter and stock set together. Nothing else writes
 * sale state; a restorer that dies leaves a lease that runs out.
 */
export async function restoreFromStore(
  redis: RedisClient,
  store: EventStore,
  conn: PoolConnection,
  event: StoredEvent,
  leaseMs = RESTORE_LEASE_MS,
): Promise<RestoreOutcome> {
  const keys = eventKeys(event.id);
  const token = randomBytes(12).toString('base64url');
  const begun = await restoreBegin(redis, keys, event, token, leaseMs, event.pause, event.draw);
  if (begun === RestoreBegin.Present) return { state: 'present' };
  if (begun === RestoreBegin.Busy) return { state: 'busy' };
  let after = 0;
  let orders = 0;
  for (;;) {
    const page = await store.ordersAfter(conn, event.id, after, RESTORE_CHUNK);
    if (page.length === 0) break;
    const quads: (string | number)[] = [];
    // Sold in lots: each order's units and SKU follow (restoreChunk-7.lua reads six values an order then).
    const lots = sellsLots(event);
    for (const o of page) {
      quads.push(o.user, o.order, o.payBy, o.state);
      if (lots) quads.push(o.qty, o.sku);
    }
    if (!(await restoreChunk(redis, keys, token, leaseMs, quads))) throw new RestoreLostError(`restore of ${event.id} was taken over or lost`);
    orders += page.length;
    after = (page[page.length - 1] as { order: number }).order;
    if (page.length < RESTORE_CHUNK) break;
  }
  const remaining = await restoreEnd(redis, keys, token);
  if (remaining < 0) throw new RestoreLostError(`restore of ${event.id} was taken over or lost`);
  return { state: 'restored', orders, remaining };
}
