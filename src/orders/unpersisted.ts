import type { RedisClient } from '../redis/scripts';
import type { PersistedEvent } from './persister';

/**
 * Orders each event still has in its Redis stream, not yet in MySQL (the
 * meta's `unpersisted` count), for the line a stop that gives up on its
 * flush logs; events with none are left out. undefined when Redis is not
 * there to say within `timeoutMs`.
 */
export async function unpersistedOrders(
  redis: RedisClient,
  events: Iterable<PersistedEvent>,
  timeoutMs = 1_000,
): Promise<Record<string, number> | undefined> {
  if (redis.status !== 'ready') return undefined;
  const list = [...events];
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  // One HGET per event, not a pipeline: in a Redis Cluster the events' keys live in different slots.
  const counts = Promise.all(list.map((e) => redis.hget(e.keys.meta, 'unpersisted'))).catch(() => undefined);
  const found = await Promise.race([counts, late]);
  clearTimeout(timer);
  if (found === undefined) return undefined;
  const out: Record<string, number> = {};
  list.forEach((e, i) => {
    const n = Number(found[i] ?? 0);
    if (n > 0) out[e.id] = n;
  });
  return out;
}
