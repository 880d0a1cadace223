import { Redis } from 'ioredis';
import t from 'tap';
import { eventKeys } from '../src/redis/keys';
import { buy, defineScripts, putEvent, PutEventResult } from '../src/redis/scripts';
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
        ['o', '1', 'u', 'ann'],
        ['o', '2', 'u', 'bob'],
        ['o', '3', 'u', 'cid'],
      ],
      'one stream entry per win, in order',
    );
    const r3 = await buy(redis, k, ['eve']);
    t.same([...r3.codes], [1], 'sold out');
    t.equal(await redis.xlen(k.orders), 3, 'no entry for a loss');
  });

  t.test('putEvent: created, unchanged, updated before start, refused after', async (t) => {
    const k = eventKeys('later');
    const def = { stock: 10, start: now + 3_600_000, end: now + 7_200_000, name: 'later' };
    t.same(await putEvent(redis, k, def), { result: PutEventResult.Created, remaining: 10 });
    t.same(await putEvent(redis, k, def), { result: PutEventResult.Unchanged, remaining: 10 });
    t.same(await putEvent(redis, k, { ...def, stock: 20 }), { result: PutEventResult.Updated, remaining: 20 });
    t.equal(await redis.hget(k.meta, 'stock'), '20');

    const s = eventKeys('sale');
    const before = await redis.get(s.stock);
    t.same(await putEvent(redis, s, { ...open, stock: 99 }), { result: PutEventResult.Started, remaining: Number(before) });
    t.same(await putEvent(redis, s, open), { result: PutEventResult.Unchanged, remaining: 0 }, 're-putting a running sale changes nothing');
    t.equal(await redis.hlen(s.buyers), 3, 'buyers kept');
    t.equal(await redis.hget(s.meta, 'stock'), '3');
  });

  t.test('putEvent: a sale with buyers is refused even when its start is moved', async (t) => {
    const k = eventKeys('early');
    await putEvent(redis, k, { ...open, stock: 5 });
    await buy(redis, k, ['x']);
    const r = await putEvent(redis, k, { ...open, stock: 5, start: now + 3_600_000, end: now + 7_200_000 });
    t.equal(r.result, PutEventResult.Started);
    t.equal(r.remaining, 4);
  });
});
