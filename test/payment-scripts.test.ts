import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { eventKeys, type EventKeys } from '../src/redis/keys';
import { buy, defineScripts, expireDue, payOrder, putEvent } from '../src/redis/scripts';
import { SaleEvent } from '../src/events/sale-event';
import { ExpirySweeper } from '../src/orders/expiry-sweeper';
import { parseEntries } from '../src/orders/stream';
import { testRedis } from './helpers/services';

/** Redis' own clock in ms (the scripts decide deadlines on it). */
async function redisNow(redis: Redis): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** Moves an order's deadline (a test cannot wait minutes for payWithin). */
async function setDeadline(redis: Redis, k: EventKeys, order: number, ms: number): Promise<void> {
  await redis.zadd(k.due, 'XX', ms, String(order));
}

async function connect(t: Test, socket: string): Promise<Redis> {
  const r = new Redis({ path: socket });
  defineScripts(r);
  t.teardown(() => r.quit());
  return r;
}

t.test('pay, expire, the expired user refused, the returned unit sold again under a new number', async (t) => {
  const local = await testRedis(t);
  const redis = await connect(t, local.socket);
  const k = eventKeys('p');
  const now = Date.now();
  await putEvent(redis, k, { stock: 2, start: now - 1000, end: now + 3_600_000, name: '', payWithin: 600 });
  const won = await buy(redis, k, ['a', 'b', 'c']);
  t.same([...won.codes, ...won.orders], [0, 0, 1, 1, 2, 0], 'a and b win 1 and 2, c is told sold out');
  const deadline = Number(await redis.zscore(k.due, '1'));
  t.ok(deadline > (await redisNow(redis)) + 590_000, 'the deadline is payWithin after the win');
  t.equal(await redis.hget(k.owners, '2'), 'b', 'the owner of a due order is known');

  t.same(await payOrder(redis, k, 1), { code: 0, remaining: -1, user: 'a' }, 'a pays before the deadline');
  t.same(await payOrder(redis, k, 1), { code: 0, remaining: -1, user: '' }, 'paying again is the same answer, changing nothing');
  t.same(await payOrder(redis, k, 99), { code: 11, remaining: -1, user: '' }, 'no such order: 11');

  await setDeadline(redis, k, 2, (await redisNow(redis)) - 1);
  await setDeadline(redis, k, 1, 0); // XX: a paid order is no longer due, so nothing is added
  t.equal(await redis.zcard(k.due), 1, 'a paid order cannot become due again');
  const swept = await expireDue(redis, k, 100);
  t.same(swept, { remaining: 1, expired: [{ order: 2, user: 'b' }] }, 'b did not pay: the order expires and its unit is back');
  t.same(await expireDue(redis, k, 100), { remaining: 1, expired: [] }, 'a second sweep finds nothing');
  t.same(await payOrder(redis, k, 2), { code: 12, remaining: -1, user: '' }, 'paying an expired order: 12');
  t.same(await payOrder(redis, k, 1), { code: 0, remaining: -1, user: '' }, 'the paid order stays paid past its deadline');

  const again = await buy(redis, k, ['b', 'd', 'c', 'a']);
  t.same([...again.codes], [12, 0, 1, 2], 'b is refused with "expired", d wins the returned unit, c sold out, a already bought');
  t.same([...again.orders], [2, 3, 0, 1], "b's old order number; d's is new, above the stock");
  t.equal(again.remaining, 0);
  const entries = parseEntries(await redis.xrange(k.orders, '-', '+'));
  t.same(
    entries.map((e) => [e.orderNo, e.user, e.settled ?? 'won', e.payBy !== undefined && e.payBy !== null]),
    [
      [1, 'a', 'won', true],
      [2, 'b', 'won', true],
      [1, 'a', 'paid', false],
      [2, 'b', 'expired', false],
      [3, 'd', 'won', true],
    ],
    'the stream carries each win with its deadline and each settlement once',
  );
});

t.test('an event without payWithin: a win is final, nothing is due, paying finds no order', async (t) => {
  const local = await testRedis(t);
  const redis = await connect(t, local.socket);
  const k = eventKeys('final');
  const now = Date.now();
  await putEvent(redis, k, { stock: 2, start: now - 1000, end: now + 3_600_000, name: '' });
  t.same([...(await buy(redis, k, ['a'])).codes], [0]);
  t.equal(await redis.exists(k.due, k.owners), 0, 'no due orders, no owners');
  t.same(parseEntries(await redis.xrange(k.orders, '-', '+')).map((e) => e.payBy), [null], 'the stream entry has no deadline');
  t.same(await payOrder(redis, k, 1), { code: 11, remaining: -1, user: '' });
  t.same(await expireDue(redis, k, 10), { remaining: 1, expired: [] });
  t.same((await putEvent(redis, k, { stock: 2, start: now - 1000, end: now + 3_600_000, name: '', payWithin: 0 })).result, 3, 'payWithin 0 is the same definition');
});

t.test('paid and expiring in the same millisecond, many times over: exactly one outcome each time', async (t) => {
  const local = await testRedis(t);
  const payer = await connect(t, local.socket);
  const sweeper = await connect(t, local.socket);
  const k = eventKeys('race');
  const now = Date.now();
  const rounds = 400;
  await putEvent(payer, k, { stock: rounds, start: now - 1000, end: now + 3_600_000, name: '', payWithin: 600 });
  const users = Array.from({ length: rounds }, (_, i) => `u${i}`);
  await buy(payer, k, users);
  let paid = 0;
  let expired = 0;
  for (let order = 1; order <= rounds; order++) {
    // The deadline is Redis' clock now, give or take a millisecond: the two calls land on either side of it.
    await setDeadline(payer, k, order, (await redisNow(payer)) + (order % 3) - 1);
    const [pay, sweep] = await Promise.all([payOrder(payer, k, order), expireDue(sweeper, k, 10)]);
    const swept = sweep.expired.filter((e) => e.order === order).length;
    if (pay.code === 0) paid++;
    else expired++;
    // Exactly one of them settled it: a payment that lost is 12, and the sweep did it or the payment expired it itself.
    if (pay.code === 0 && swept !== 0) t.fail(`order ${order}: paid and expired`);
    if (pay.code === 12 && swept + (pay.remaining >= 0 ? 1 : 0) !== 1) t.fail(`order ${order}: expired ${swept + (pay.remaining >= 0 ? 1 : 0)} times`);
  }
  t.comment(`${paid} paid, ${expired} expired`);
  t.equal(paid + expired, rounds, 'every order has one outcome');
  t.equal(await payer.scard(k.paid), paid, 'the paid set holds exactly the payments answered 0');
  t.equal(await payer.hlen(k.expired), expired, 'the expired set exactly the rest');
  t.equal(await payer.zcard(k.due), 0, 'nothing is still due');
  t.equal(Number(await payer.get(k.stock)), expired, 'each expired unit came back once: the stock is never over-returned');
  const settlements = parseEntries(await payer.xrange(k.orders, '-', '+')).filter((e) => e.settled !== undefined);
  t.equal(settlements.length, rounds, 'one settlement entry per order in the stream');
  t.equal(new Set(settlements.map((e) => e.orderNo)).size, rounds, 'never two for one order');
});

t.test('two sweepers expiring at once: each order expires once', async (t) => {
  const local = await testRedis(t);
  const a = await connect(t, local.socket);
  const b = await connect(t, local.socket);
  const k = eventKeys('two');
  const now = Date.now();
  const n = 1_500;
  await putEvent(a, k, { stock: n, start: now - 1000, end: now + 3_600_000, name: '', payWithin: 1 });
  await buy(a, k, Array.from({ length: n }, (_, i) => `u${i}`));
  const past = (await redisNow(a)) - 1;
  await a.zadd(k.due, ...Array.from({ length: n }, (_, i) => [past, String(i + 1)]).flat());
  const event = (id: string): SaleEvent => new SaleEvent(id, { stock: n, start: now - 1000, end: now + 3_600_000, name: '', payWithin: 1 }, 0);
  const seen: number[] = [];
  const record = (_id: string, _remaining: number, expired: readonly { order: number }[]): void => void seen.push(...expired.map((e) => e.order));
  const one = new ExpirySweeper(a, () => [event('two')], record);
  const two = new ExpirySweeper(b, () => [event('two')], record);
  const [x, y] = await Promise.all([one.sweep(Date.now()), two.sweep(Date.now())]);
  t.comment(`sweeper one expired ${x}, sweeper two ${y}`);
  t.equal(x + y, n, 'between them, every order once');
  t.equal(new Set(seen).size, n, 'no order reported twice');
  t.equal(Number(await a.get(k.stock)), n, 'every unit back, none twice');
  t.equal(await a.hlen(k.expired), n);
  t.equal(parseEntries(await a.xrange(k.orders, '-', '+')).filter((e) => e.settled === 'expired').length, n, 'one stream entry each');
});

t.test('nothing is expired or paid while a restore runs', async (t) => {
  const local = await testRedis(t);
  const redis = await connect(t, local.socket);
  const k = eventKeys('rs');
  const now = Date.now();
  await putEvent(redis, k, { stock: 2, start: now - 1000, end: now + 3_600_000, name: '', payWithin: 1 });
  await buy(redis, k, ['a']);
  await setDeadline(redis, k, 1, 0);
  await redis.hset(k.meta, 'lease', String(now + 60_000), 'restoring', 'x');
  t.same(await expireDue(redis, k, 10), { remaining: -1, expired: [] }, 'the sweep does nothing');
  t.same(await payOrder(redis, k, 1), { code: 10, remaining: -1, user: '' }, 'a payment is told to retry');
  t.equal(await redis.zcard(k.due), 1, 'the order is still due');
});
