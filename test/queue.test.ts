import t from 'tap';
import { buy, count, openEvent, testApp } from './helpers/app';
import { until } from './helpers/wait';

t.test('a deadline answers 503 and gives the reservation back; the stock still sells out', async (t) => {
  // Five tokens a second, one saved up: a request goes straight through only
  // when a token is there; the rest wait ~200 ms for one, past their 100 ms deadline.
  const app = await testApp(t, { queueCapacity: 1000, queueRate: 5, queueBurst: 1, queueTimeoutMs: 100, redisTimeoutMs: 50 });
  await openEvent(t, app.base, 'tight', 5);
  const event = app.catalog.get('tight')!;

  const first = await Promise.all(Array.from({ length: 50 }, (_, i) => buy(app.base, 'tight', `user${i}`)));
  const timedOut = first.filter((a) => a.c === 6);
  const won = count(first, (a) => a.c === 0);
  // Five reservations claim the five units; the other 45 stand by behind
  // them ("sold out" is final, and units remain) and time out with them.
  t.ok(timedOut.length >= 1, `some waited past their deadline (${timedOut.length})`);
  t.ok(timedOut.every((a) => a.status === 503), 'timeout is HTTP 503');
  t.equal(won + timedOut.length, 50, 'every request won or timed out');
  t.equal(count(first, (a) => a.c === 1), 0, 'nobody heard "sold out" while units remained');
  await app.consumer.idle();
  t.equal(event.reserved, 0, 'every timed-out request gave its reservation back');
  t.equal(event.queued.size, 0, 'no user is left marked as queued');
  t.equal(app.queue.live, 0, 'nothing parked');
  t.equal(event.available, Number(await app.redis.get(event.keys.stock)), 'local estimate equals Redis');

  // Retry until sold out: every unit left must sell, none more.
  let wins = won;
  for (let i = 0; i < 300; i++) {
    const a = await buy(app.base, 'tight', `late${i % 9}`);
    if (a.c === 0) wins++;
    if (a.c === 1) break;
  }
  t.equal(wins, 5, 'the whole stock sold after the timeouts');
  t.equal(await app.redis.get(event.keys.stock), '0');
  t.equal(await app.redis.hlen(event.keys.buyers), 5);
  t.same(await buy(app.base, 'tight', 'last'), { status: 200, c: 1 });
});

t.test('a full queue answers 429 at once, without waiting for parked requests', async (t) => {
  const app = await testApp(t, { queueCapacity: 5, queueRate: 1, queueBurst: 1, queueTimeoutMs: 5_000 });
  await openEvent(t, app.base, 'slow', 100);
  t.same(await buy(app.base, 'slow', 'first'), { status: 200, c: 0, o: 1 }, 'takes the only token');
  const parked = Array.from({ length: 5 }, (_, i) => buy(app.base, 'slow', `p${i}`));
  await until(() => app.queue.live === 5, 'five parked');
  const busy = await Promise.all(Array.from({ length: 20 }, (_, i) => buy(app.base, 'slow', `b${i}`)));
  t.ok(busy.every((a) => a.c === 5 && a.status === 429), 'all 20 answered busy');
  t.equal(app.queue.live, 5, '...while the five are still parked');
  const done = await Promise.all(parked);
  t.ok(done.every((a) => a.c === 0 || a.c === 6), 'parked ones are decided or time out');
});
