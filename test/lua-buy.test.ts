import { Redis } from 'ioredis';
import t from 'tap';
import { eventKeys } from '../src/redis/keys';
import { entriesOf, parseEntries } from '../src/orders/stream';
import { ackOrders, buy, defineScripts, putEvent } from '../src/redis/scripts';
import { PutEventResult } from '../src/sale';
import { testRedis } from './helpers/services';

/** The scripts called directly through ioredis, branch by branch. */
t.test('lua scripts', async (t) => {
  const local = await testRedis(t);
  const redis = new Redis({ path: local.socket });
  defineScripts(redis);
  t.teardown(() => redis.quit());
  const now = Date.now();
  const open = { stock: 3, start: now - 60_000, end: now + 3_600_000, name: 'open sale' };

  t.test('buy: unknown event answers 7 for everyone and writes nothing', async (t) => {
    const k = eventKeys('nothing');
    const r = await buy(redis, k, ['a', 'b']);
    t.same([...r.codes], [7, 7]);
    t.same([...r.orders], [0, 0]);
    t.equal(await redis.exists(k.stock, k.buyers, k.orders), 0);
  });

  t.test('buy: not started (3) and ended (4) by the Redis clock, no state change', async (t) => {
    const soon = eventKeys('soon');
    await putEvent(redis, soon, { ...open, start: now + 3_600_000, end: now + 7_200_000 });
    const r1 = await buy(redis, soon, ['a']);
    t.same([...r1.codes], [3]);
    t.equal(r1.remaining, 3);
    const past = eventKeys('past');
    await putEvent(redis, past, { ...open, start: now - 7_200_000, end: now - 3_600_000 });
    const r2 = await buy(redis, past, ['a']);
    t.same([...r2.codes], [4]);
    t.equal(await redis.hlen(past.buyers), 0);
    t.equal(await redis.get(past.stock), '3');
  });

  t.test('buy: wins in order, repeats get their order, then sold out', async (t) => {
    const k = eventKeys('sale');
    t.equal((await putEvent(redis, k, open)).result, PutEventResult.Created);
    const r1 = await buy(redis, k, ['ann', 'bob', 'ann']);
    t.same([...r1.codes], [0, 0, 2], 'two wins, a repeat inside the batch is 2');
    t.same([...r1.orders], [1, 2, 1], 'order numbers 1, 2 and ann\'s own');
    t.equal(r1.remaining, 1);
    const r2 = await buy(redis, k, ['cid', 'dan', 'bob']);
    t.same([...r2.codes], [0, 1, 2]);
    t.same([...r2.orders], [3, 0, 2]);
    t.equal(r2.remaining, 0);
    t.equal(await redis.get(k.stock), '0');
    t.same(await redis.hgetall(k.buyers), { ann: '1', bob: '2', cid: '3' });
    const stream = await redis.xrange(k.orders, '-', '+');
    t.same(
      stream.map(([, f]) => f),
      [
        ['o', '1', 'u', 'ann', 'u', 'bob'],
        ['o', '3', 'u', 'cid'],
      ],
      'one stream entry per batch with wins: its first order number, then its winners in order',
    );
    t.same(
      parseEntries(stream).map((o) => [o.orderNo, o.user, o.id]),
      [
        [1, 'ann', stream[0]?.[0]],
        [2, 'bob', stream[0]?.[0]],
        [3, 'cid', stream[1]?.[0]],
      ],
      'read back as one order per winner',
    );
    t.equal(await redis.hget(k.meta, 'unpersisted'), '3', 'the meta counts the orders in the stream');
    const r3 = await buy(redis, k, ['eve']);
    t.same([...r3.codes], [1], 'sold out');
    t.equal(await redis.xlen(k.orders), 2, 'no entry for a batch without a win');
    t.equal(await redis.hget(k.meta, 'unpersisted'), '3');
  });

  t.test('buy: a batch of 2,500 is read and written in chunks of 1,000, order numbers running on across them', async (t) => {
    const k = eventKeys('big');
    await putEvent(redis, k, { ...open, stock: 2_400 });
    const users = Array.from({ length: 2_500 }, (_, i) => `big${i}`);
    users[1_500] = 'big10'; // a repeat of an earlier chunk's winner, in a later chunk
    const r = await buy(redis, k, users);
    t.equal(r.codes.filter((c) => c === 0).length, 2_400, 'the stock sold, no unit more');
    t.equal(r.codes[1_500], 2, 'the repeat across chunks is "already bought"');
    t.equal(r.orders[1_500], 11, 'with the order it won');
    t.same(r.codes.slice(2_401), Array(99).fill(1), 'then sold out');
    const stream = await redis.xrange(k.orders, '-', '+');
    t.same(stream.map(([, f]) => f.length), [2 + 2_000, 2 + 2_000, 2 + 800], 'three entries: 1,000, 1,000 and 400 winners');
    const orders = parseEntries(stream);
    t.same(orders.map((o) => o.orderNo), Array.from({ length: 2_400 }, (_, i) => i + 1), 'order numbers 1..2400 in stream order');
    const buyers = await redis.hgetall(k.buyers);
    t.ok(orders.every((o) => buyers[o.user] === String(o.orderNo)), 'each stream order matches the buyers hash');
    t.equal(Object.keys(buyers).length, 2_400);
    t.equal(await redis.hget(k.meta, 'unpersisted'), '2400');
    t.equal(await redis.get(k.seq), '2400');
  });

  t.test('ackOrders: acknowledged entries leave the stream and take their orders off unpersisted, once', async (t) => {
    const k = eventKeys('ack');
    await putEvent(redis, k, { ...open, stock: 10 });
    await redis.xgroup('CREATE', k.orders, 'g', '0', 'MKSTREAM');
    await buy(redis, k, ['a1', 'a2', 'a3']);
    await buy(redis, k, ['b1', 'b2']);
    const read = (await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 10, 'STREAMS', k.orders, '>')) as [string, [string, string[]][]][];
    const entries = entriesOf(parseEntries(read[0]?.[1]));
    t.same(entries.map((e) => e.orders), [3, 2]);
    t.equal(await ackOrders(redis, k, 'g', entries.slice(0, 1)), 1);
    t.equal(await redis.hget(k.meta, 'unpersisted'), '2', 'the first entry\'s 3 orders are off');
    t.equal(await redis.xlen(k.orders), 1);
    t.equal(await ackOrders(redis, k, 'g', entries), 1, 'the first again counts 0');
    t.equal(await redis.hget(k.meta, 'unpersisted'), '0', 'and takes nothing off twice');
    t.equal(await redis.xlen(k.orders), 0);
  });

  t.test('unpersisted heals: from 0 once the stream is empty, from its length when absent (one-order entries of older servers)', async (t) => {
    const k = eventKeys('heal');
    await putEvent(redis, k, { ...open, stock: 20 });
    await buy(redis, k, ['h1', 'h2', 'h3']);
    await redis.del(k.orders); // the stream alone is lost: its 3 orders go without an ack
    t.equal(await redis.hget(k.meta, 'unpersisted'), '3', 'the count cannot know yet');
    await buy(redis, k, ['h4', 'h5']);
    t.equal(await redis.hget(k.meta, 'unpersisted'), '2', 'the next batch finds the stream empty and counts from 0');

    const old = eventKeys('old');
    await putEvent(redis, old, { ...open, stock: 20 });
    for (let i = 1; i <= 4; i++) await redis.xadd(old.orders, '*', 'o', String(i), 'u', `o${i}`);
    await redis.set(old.seq, 4);
    await redis.hset(old.buyers, 'o1', 1, 'o2', 2, 'o3', 3, 'o4', 4);
    await buy(redis, old, ['n1', 'n2']);
    t.equal(await redis.hget(old.meta, 'unpersisted'), '6', 'no count yet: the 4 one-order entries, then the 2 wins');

    await redis.xgroup('CREATE', k.orders, 'g', '0');
    const read = (await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 10, 'STREAMS', k.orders, '>')) as [string, [string, string[]][]][];
    await redis.hset(k.meta, 'unpersisted', 7); // drifted, whatever the cause
    t.equal(await ackOrders(redis, k, 'g', entriesOf(parseEntries(read[0]?.[1]))), 1);
    t.equal(await redis.hget(k.meta, 'unpersisted'), '0', 'an ack that leaves the stream empty sets 0');
  });

  t.test('putEvent: created, unchanged, updated before start, refused after', async (t) => {
    const k = eventKeys('later');
    const def = { stock: 10, start: now + 3_600_000, end: now + 7_200_000, name: 'later' };
    t.match(await putEvent(redis, k, def), { result: PutEventResult.Created, remaining: 10 });
    t.match(await putEvent(redis, k, def), { result: PutEventResult.Unchanged, remaining: 10 });
    t.match(await putEvent(redis, k, { ...def, stock: 20 }), { result: PutEventResult.Updated, remaining: 20 });
    t.equal(await redis.hget(k.meta, 'stock'), '20');

    const s = eventKeys('sale');
    const before = await redis.get(s.stock);
    t.match(await putEvent(redis, s, { ...open, stock: 99 }), { result: PutEventResult.HasBuyers, remaining: Number(before) });
    t.match(await putEvent(redis, s, open), { result: PutEventResult.Unchanged, remaining: 0 }, 're-putting a running sale changes nothing');
    t.equal(await redis.hlen(s.buyers), 3, 'buyers kept');
    t.equal(await redis.hget(s.meta, 'stock'), '3');
  });

  t.test('putEvent: a sale with buyers is refused even when its start is moved', async (t) => {
    const k = eventKeys('early');
    await putEvent(redis, k, { ...open, stock: 5 });
    await buy(redis, k, ['x']);
    const r = await putEvent(redis, k, { ...open, stock: 5, start: now + 3_600_000, end: now + 7_200_000 });
    t.equal(r.result, PutEventResult.HasBuyers);
    t.equal(r.remaining, 4);
  });
});
