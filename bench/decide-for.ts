import { performance } from 'node:perf_hooks';
import type { EventKeys } from '../src/redis/keys';
import { buy, type RedisClient } from '../src/redis/scripts';

/**
 * Calls the buy script with batches of `batch` fresh users, `inFlight`
 * calls at a time (as the consumer overlaps its ticks), for `seconds`:
 * how many users it decided and in how long. bench:fsync and bench:shard.
 */
export async function decideFor(redis: RedisClient, keys: EventKeys, batch: number, inFlight: number, seconds: number): Promise<{ decided: number; seconds: number }> {
  let next = 0;
  let decided = 0;
  const until = performance.now() + seconds * 1000;
  const lane = async (): Promise<void> => {
    while (performance.now() < until) {
      const users = Array.from({ length: batch }, () => `u${next++}`);
      const r = await buy(redis, keys, users);
      decided += r.codes.length;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { decided, seconds: (performance.now() - t0) / 1000 };
}
