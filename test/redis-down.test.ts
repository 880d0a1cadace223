import t from 'tap';
import { startLocalRedis } from '../src/services/redis-server';
import { buy, count, openEvent, testApp } from './helpers/app';
import { tempDir } from './helpers/services';
import { until } from './helpers/wait';

t.test('Redis unreachable: 10 before the deadline, the server lives on and recovers', async (t) => {
  const dir = tempDir(t);
  let redis = await startLocalRedis(dir);
  t.teardown(() => redis.stop());
  const app = await testApp(t, { redisUrl: redis.socket, queueRate: 2, queueBurst: 1, queueTimeoutMs: 20_000, redisTimeoutMs: 1_000 });
  await openEvent(t, app.base, 'shaky', 100);
  const event = app.catalog.get('shaky')!;
  t.same(await buy(app.base, 'shaky', 'before'), { status: 200, c: 0, o: 1 });

  const parked = Array.from({ length: 30 }, (_, i) => buy(app.base, 'shaky', `p${i}`));
  await until(() => app.queue.live >= 25, 'requests parked');
  // Plain listeners: events.once() would reject on the 'error' events of reconnect attempts.
  const closed = new Promise((r) => app.redis.once('close', r));
  await redis.stop();
  await closed;
  const answers = await Promise.all(parked);
  t.ok(count(answers, (a) => a.c === 10) >= 25, 'parked requests got code 10');
  t.ok(answers.every((a) => a.c === 0 || a.c === 10), 'none waited for its 20 s deadline');
  t.ok(answers.filter((a) => a.c === 10).every((a) => a.status === 503), 'unavailable is HTTP 503');

  t.same(await buy(app.base, 'shaky', 'during'), { status: 503, c: 10 }, 'a new request hears unavailable at once');
  t.same(await buy(app.base, 'shaky', 'before'), { status: 200, c: 2, o: 1 }, 'a known winner is still answered locally');
  t.equal(event.reserved, 0, 'reservations given back');
  t.equal(app.queue.live, 0);

  const ready = new Promise((r) => app.redis.once('ready', r));
  redis = await startLocalRedis(dir);
  await ready;
  const after = await buy(app.base, 'shaky', 'after');
  t.equal(after.c, 0, 'sells again once Redis is back');
  const buyers = await app.redis.hlen(event.keys.buyers);
  t.equal(Number(await app.redis.get(event.keys.stock)) + buyers, 100, 'remaining + buyers = stock: nothing lost, nothing oversold');
  t.equal(after.o, buyers, 'order numbers carry on from the saved state');
  const health = await fetch(`${app.base}/healthz`);
  t.equal(health.status, 200);
});
