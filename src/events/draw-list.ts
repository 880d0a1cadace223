import type { EventKeys } from '../redis/keys';
import type { RedisClient } from '../redis/scripts';
import type { PublishedEntrant } from './draw';

/**
 * The published list of a decided draw, as Redis holds it: every entrant's
 * key with the units asked and won (the `entrants` hash, whose values
 * drawDecide-9.lua rewrote `<q> <won> <user>`; the user id is not
 * published), in key order. Empty when Redis holds none (a draw restored
 * from MySQL after a loss: MySQL has the list).
 */
export async function readDrawList(redis: RedisClient, keys: EventKeys): Promise<PublishedEntrant[]> {
  const out: PublishedEntrant[] = [];
  let cursor = '0';
  do {
    const [next, flat] = await redis.hscan(keys.entrants, cursor, 'COUNT', 1000);
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const m = /^(\d+) (\d+) /.exec(flat[i + 1] as string);
      if (m !== null) out.push({ key: flat[i] as string, asked: Number(m[1]), won: Number(m[2]) });
    }
    cursor = next;
  } while (cursor !== '0');
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
