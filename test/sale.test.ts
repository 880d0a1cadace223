import t from 'tap';
import { parseEntries } from '../src/orders/stream';
import { buy, count, openEvent, testApp } from './helpers/app';

t.test('contention: stock 50, 500 distinct users at once', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'crowd', 50);
  const users = Array.from({ length: 500 }, (_, i) => `u${i}`);
  const answers = await Promise.all(users.map((u) => buy(app.base, 'crowd', u)));

  const wins = answers.filter((a) => a.c === 0);
  t.equal(wins.length, 50, 'exactly the stock is sold');
  t.equal(count(answers, (a) => a.c === 1), 450, 'everyone else hears sold out');
  t.ok(answers.every((a) => a.status === 200), 'every decision is HTTP 200');
  t.same(
    wins.map((a) => a.o).sort((a, b) => (a ?? 0) - (b ?? 0)),
    Array.from({ length: 50 }, (_, i) => i + 1),
    'order numbers are exactly 1..50',
  );

  const k = app.catalog.get('crowd')!.keys;
  t.equal(await app.redis.get(k.stock), '0', 'Redis remaining is 0');
  t.equal(await app.redis.hlen(k.buyers), 50, '50 buyers in Redis');
  const streamed = parseEntries(await app.redis.xrange(k.orders, '-', '+'));
  t.equal(streamed.length, 50, '50 orders in the stream');
  t.equal(await app.redis.hget(k.meta, 'unpersisted'), '50', 'and the meta counts 50');
  t.equal(new Set(streamed.map((o) => o.user)).size, 50, 'each order in the stream belongs to a different user');
  t.same(streamed.map((o) => o.orderNo).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1), 'numbered 1..50');
  t.ok(wins.every((a) => streamed.some((o) => o.orderNo === a.o)), 'each winner\'s order is in the stream');
  const event = app.catalog.get('crowd')!;
  t.equal(event.reserved, 0, 'no reservation left over');
  t.equal(app.queue.live, 0, 'nothing left parked');
});

t.test('repeat clicks: 100 users x 5 concurrent clicks, stock 100', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'clicks', 100);
  const clicks: Promise<{ user: string; c: number; o?: number }>[] = [];
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 100; i++) {
      const user = `clicker${i}`;
      clicks.push(buy(app.base, 'clicks', user).then((a) => ({ user, ...a })));
    }
  }
  const answers = await Promise.all(clicks);
  t.equal(count(answers, (a) => a.c === 0), 100, 'every user wins once: repeats did not drain stock');
  t.equal(count(answers, (a) => a.c === 2), 400, 'every repeat hears "already bought"');
  const orderOf = new Map<string, number>();
  for (const a of answers) if (a.c === 0) orderOf.set(a.user, a.o!);
  t.equal(orderOf.size, 100, 'one win per user');
  t.ok(
    answers.filter((a) => a.c === 2).every((a) => a.o === orderOf.get(a.user)),
    'each repeat carries that user\'s own order number',
  );
  const k = app.catalog.get('clicks')!.keys;
  t.equal(await app.redis.get(k.stock), '0');
  t.equal(parseEntries(await app.redis.xrange(k.orders, '-', '+')).length, 100);

  const late = await buy(app.base, 'clicks', 'clicker7');
  t.same(late, { status: 200, c: 2, o: orderOf.get('clicker7') }, 'a later click is answered locally with the order');
  t.same(await buy(app.base, 'clicks', 'newcomer'), { status: 200, c: 1 }, 'a new user hears sold out');
});
