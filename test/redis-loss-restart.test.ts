import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startLocalRedis } from '../src/services/redis-server';
import { crowd } from './helpers/crowd';
import { checkSale, openOn, stack } from './helpers/redis-loss';
import { until } from './helpers/wait';

/**
 * Redis loses everything mid-sale (its server restarted on an empty data
 * folder) while two server processes sell on it: the invariants of
 * test/redis-loss.test.ts hold (split from it so the two run side by side).
 */

t.test('redis-server restarted on an empty data dir mid-sale', async (t) => {
  const s = await stack(t);
  const a = await s.start('a');
  const b = await s.start('b');
  await openOn(t, [a, b], 'empty', 2000);
  let lostAt = Number.POSITIVE_INFINITY;
  let restarted: Promise<void> | undefined;
  const told = await crowd([a.base, b.base], 'empty', Array.from({ length: 3500 }, (_, i) => `e${i}`), {
    concurrency: 40,
    timeoutMs: 90_000,
    onAnswer: (_x, sold) => {
      if (restarted !== undefined || sold < 600) return;
      restarted = (async () => {
        await s.local.stop();
        lostAt = Date.now();
        fs.rmSync(path.join(s.redisDir, 'redis'), { recursive: true, force: true });
        const again = await startLocalRedis(s.redisDir);
        t.teardown(() => again.stop());
      })();
    },
  });
  await restarted;
  t.ok(Number.isFinite(lostAt), 'Redis was restarted empty mid-sale');
  await until(() => s.redis.status === 'ready', 'the test client reconnected');
  await checkSale(t, s, 'empty', 2000, told, lostAt);
});
