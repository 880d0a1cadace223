import type { Pool } from 'mysql2/promise';
import { eventKeys } from '../redis/keys';
import { resetEvent, ResetEventResult, type RedisClient } from '../redis/scripts';
import { type EventDefinition } from '../sale';
import { EventStore } from './event-store';

/**
 * Starts an event whose sale has ended afresh under the same id (the demo's
 * "started anew"; nothing else resets a sale). With MySQL, under the
 * event's row lock and in one transaction: the old orders, payments and
 * conflicts are deleted and the new definition saved, and the transaction
 * commits only if Redis reset the event too (lua/resetEvent-9.lua: all of
 * its keys in one step). So a restore from MySQL later (Redis lost the
 * event) finds the new sale, never the old one; and the row lock keeps a
 * persister from storing an old batch in between.
 *
 * Refused (nothing changed) while the sale is open by MySQL's definition or
 * by Redis', or while a restore holds the event.
 */
export async function startAfresh(
  redis: RedisClient,
  pool: Pool | undefined,
  id: string,
  def: EventDefinition,
  now = Date.now(),
): Promise<{ result: ResetEventResult; remaining: number }> {
  const keys = eventKeys(id);
  if (pool === undefined) return resetEvent(redis, keys, def);
  const store = new EventStore(pool);
  return store.inLockedTransaction(async (conn) => {
    const stored = await store.lock(conn, id);
    if (stored !== undefined && stored.end > now) return [{ result: ResetEventResult.Open, remaining: -1 }, false];
    await store.forgetOrders(conn, id);
    await store.save(conn, id, def);
    const outcome = await resetEvent(redis, keys, def);
    return [outcome, outcome.result === ResetEventResult.Reset];
  });
}
