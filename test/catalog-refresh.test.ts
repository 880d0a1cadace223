import t from 'tap';
import { Catalog } from '../src/events/catalog';
import { connectRedis } from '../src/redis/client';
import { testRedis } from './helpers/services';

/**
 * The event refresh restores every event this process knows that its SCAN
 * did not find. An event put while the scan ran (on this process, or
 * announced by another) can be behind the cursor: it was taken for lost and
 * restored, or without MySQL logged "Redis lost this event … put it again"
 * (found by fault injection: 300 puts on two workers with a 200 ms refresh
 * logged it 467 times, for events Redis had).
 */
t.test('an event put while the refresh scans is not taken for lost', async (t) => {
  const local = await testRedis(t);
  const redis = await connectRedis(local.socket, 1_000);
  t.teardown(() => redis.disconnect());
  const catalog = new Catalog(redis, undefined, true);
  const now = Date.now();
  const def = { stock: 5, start: now - 1_000, end: now + 60_000, name: '', payWithin: 0 };
  await catalog.put('early', def);
  const restored: string[] = [];
  catalog.restore = (id: string): Promise<void> => {
    restored.push(id);
    return Promise.resolve();
  };
  // The scan's page is read, then (before the refresh goes on) another put lands.
  const scan = redis.scan.bind(redis) as (...args: unknown[]) => Promise<[string, string[]]>;
  let once = false;
  (redis as unknown as { scan: (...args: unknown[]) => Promise<[string, string[]]> }).scan = async (...args: unknown[]) => {
    const page = await scan(...args);
    if (!once) {
      once = true;
      await catalog.put('late', def);
    }
    return page;
  };
  await catalog.refresh();
  t.ok(catalog.get('late'), 'the late event is known');
  t.same(restored, [], 'nothing restored: every event is in Redis');
  // An event Redis really lost is still restored.
  await redis.del('sk:{early}:meta');
  await catalog.refresh();
  t.same(restored, ['early'], 'an event gone from Redis is restored');
});
