import type { EventKeys } from '../redis/keys';
import type { RedisClient } from '../redis/scripts';
import type { PauseState } from '../sale';

/** An event's counts in Redis, all as of one moment. */
export interface EventCounts {
  /** Units remaining; null when Redis has no count (absent, or being restored). */
  readonly remaining: number | null;
  readonly buyers: number;
  readonly streamLength: number;
  /** Won orders in the stream, not yet in MySQL. */
  readonly unpersisted: number;
  readonly due: number;
  readonly paid: number;
  readonly expired: number;
  /** The pause switch (lua/pauseEvent-2.lua). */
  readonly pause: PauseState;
}

/**
 * Reads the counts in one MULTI (the event's keys share its hash tag, so
 * this works on a Cluster too). Read as separate commands, a buy, payment or
 * expiry from another connection could land between two of them: a stats
 * answer once showed remaining 71 + due 105 + paid 122 = 298 of 300. In one
 * transaction, remaining + due + paid is the stock (with payWithin), and
 * remaining + buyers − expired always is.
 */
export async function readCounts(redis: RedisClient, keys: EventKeys): Promise<EventCounts> {
  const replies = await redis
    .multi()
    .get(keys.stock)
    .hlen(keys.buyers)
    .xlen(keys.orders)
    .hget(keys.meta, 'unpersisted')
    .zcard(keys.due)
    .scard(keys.paid)
    .hlen(keys.expired)
    .hmget(keys.meta, 'paused', 'pausedMs', 'pauses')
    .exec();
  if (replies === null) throw new Error('the counts transaction was aborted');
  const values = replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
  const [remaining, buyers, streamLength, unpersisted, due, paid, expired, pause] = values;
  const [since, pausedMs, pauses] = (pause ?? []) as (string | null)[];
  return {
    remaining: remaining == null ? null : Number(remaining),
    buyers: Number(buyers),
    streamLength: Number(streamLength),
    unpersisted: Number(unpersisted ?? 0),
    due: Number(due),
    paid: Number(paid),
    expired: Number(expired),
    pause: { since: Number(since ?? 0), pausedMs: Number(pausedMs ?? 0), pauses: Number(pauses ?? 0) },
  };
}
