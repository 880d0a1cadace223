import t from 'tap';
import { startLocalRedis } from '../src/services/redis-server';
import { buy, count, openEvent, testApp } from './helpers/app';
import { tempDir } from './helpers/services';
import { until } from './helpers/wait';

async function readyz(base: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, body: await res.json() };
}

t.test('Redis unreachable: 10 before the deadline, the server lives on and recovers', async (t) => {
  const dir = tempDir(t);
  let redis = await startLocalRedis(dir);
  t.teardown(() => redis.stop());
  const app = await testApp(t, { redisUrl: redis.socket, queueRate: 2, queueBurst: 1, queueTimeoutMs: 20_000, redisTimeoutMs: 1_000 });
  await openEvent(t, app.base, 'shaky', 15);
  const ready = (): ReturnType<typeof readyz> => readyz(app.base);
  const event = app.catalog.get('shaky')!;
  t.same(await buy(app.base, 'shaky', 'before'), { status: 200, c: 0, o: 1 });
  t.same(await ready(), { status: 200, body: { ok: true, accepting: true, redis: true } }, 'ready');

  const parked = Array.from({ length: 12 }, (_, i) => buy(app.base, 'shaky', `p${i}`));
  await until(() => app.queue.live >= 10, 'requests parked');
  // Plain listeners: events.once() would reject on the 'error' events of reconnect attempts.
  const closed = new Promise((r) => app.redis.once('close', r));
  await redis.stop();
  await closed;
  const answers = await Promise.all(parked);
  t.ok(count(answers, (a) => a.c === 10) >= 10, 'parked requests got code 10');
  t.ok(answers.every((a) => a.c === 0 || a.c === 10), 'none waited for its 20 s deadline');
  t.ok(answers.filter((a) => a.c === 10).every((a) => a.status === 503), 'unavailable is HTTP 503');

  t.same(await buy(app.base, 'shaky', 'during'), { status: 503, c: 10 }, 'a new request hears unavailable at once');
  t.same(await buy(app.base, 'shaky', 'before'), { status: 200, c: 2, o: 1 }, 'a known winner is still answered locally');
  t.equal(event.reserved, 0, 'reservations given back');
  t.equal(app.queue.live, 0);
  t.same(await ready(), { status: 503, body: { ok: false, accepting: true, redis: false } }, 'not ready while Redis is away');
  const down = await fetch(`${app.base}/healthz`);
  const { dependencies, ...live } = (await down.json()) as { dependencies: unknown };
  t.same([down.status, live], [200, { ok: true, redis: false, services: {} }], 'still live: a restart would not bring Redis back');
  t.match(dependencies, { redis: { state: 'failing', lastOkMs: Number, error: /^not connected/ } }, 'the lost connection shows at once, without a check');

  const back = new Promise((r) => app.redis.once('ready', r));
  redis = await startLocalRedis(dir);
  await back;
  t.equal((await ready()).status, 200, 'ready again');
  const after = await buy(app.base, 'shaky', 'after');
  t.equal(after.c, 0, 'sells again once Redis is back');
  const buyers = await app.redis.hlen(event.keys.buyers);
  t.equal(Number(await app.redis.get(event.keys.stock)) + buyers, 15, 'remaining + buyers = stock: nothing lost, nothing oversold');
  t.equal(after.o, buyers, 'order numbers carry on from the saved state');
  const health = await fetch(`${app.base}/healthz`);
  t.equal(health.status, 200);

  // The sale completes: a crowd takes the rest (at 2 a second), and not one unit more.
  const rest = await Promise.all(Array.from({ length: 60 }, (_, i) => buy(app.base, 'shaky', `late${i}`)));
  t.equal(count(rest, (a) => a.c === 0), 15 - buyers, 'exactly the units left are sold');
  t.equal(count(rest, (a) => a.c === 1), 60 - (15 - buyers), `the rest hear sold out (${JSON.stringify(rest.map((a) => a.c))})`);
  t.equal(await app.redis.get(event.keys.stock), '0');
  t.equal(await app.redis.hlen(event.keys.buyers), 15, '15 buyers, one unit each');
  t.equal(await app.redis.xlen(event.keys.orders), 15, '15 orders in the stream');
});
