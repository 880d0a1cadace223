import { Redis } from 'ioredis';
import t from 'tap';
import { allocate, drawScore, entrantKey, newSeed } from '../src/events/draw';
import { readDrawList } from '../src/events/draw-list';
import { parseEntries } from '../src/orders/stream';
import { eventKeys, type EventKeys } from '../src/redis/keys';
import { parseHolding } from '../src/redis/lots';
import { buy, buyLots, DRAW_CLOSED, DRAW_ENTERED, drawDecide, drawEnter, defineScripts, pauseEvent, putEvent } from '../src/redis/scripts';
import { PutEventResult } from '../src/sale';
import { testRedis } from './helpers/services';

/**
 * The draw at the opening, script by script (lua/drawEnter-4.lua,
 * lua/drawDecide-9.lua) on a real redis-server: who enters, once; the
 * decision at the close by Redis' clock, once, in score order, exactly the
 * stock, each entrant's q units all or nothing; nothing decided while
 * paused; a redefinition with entrants refused; an event sold in lots
 * (limit 2): entered within the limit, wins written as buyLots-8.lua
 * writes them, losers told what is true (1, 14, 2, 13).
 */
t.test('draw scripts', async (t) => {
  const local = await testRedis(t);
  const redis = new Redis({ path: local.socket });
  defineScripts(redis);
  t.teardown(() => redis.quit());

  /** An event whose window closes `closeIn` ms from now; returns its keys and seed. */
  async function drawEvent(id: string, stock: number, closeIn: number, extra: { payWithin?: number; limit?: number } = {}): Promise<{ k: EventKeys; seed: string }> {
    const now = Date.now();
    const k = eventKeys(id);
    const put = await putEvent(redis, k, { stock, start: now - 1_000, end: now + 3_600_000, name: '', drawMs: 1_000 + closeIn, ...extra });
    return { k, seed: put.seed };
  }
  const entry = (seed: string, user: string, q = 1): { user: string; key: string; score: string; q: number } => {
    const key = entrantKey(user);
    return { user, key, score: drawScore(seed, key), q };
  };
  const close = async (k: EventKeys): Promise<void> => {
    // The window closes by Redis' clock: move the start back instead of waiting.
    const drawMs = Number(await redis.hget(k.meta, 'drawMs'));
    await redis.hset(k.meta, 'start', Date.now() - drawMs - 100);
  };

  t.test('a user enters once; a stale seed enters nobody; after the close nobody enters', async (t) => {
    const { k, seed } = await drawEvent('once', 5, 60_000);
    t.match(seed, /^[0-9a-f]{64}$/, 'the seed was chosen when the event was defined');
    const first = await drawEnter(redis, k, seed, [entry(seed, 'a'), entry(seed, 'b'), entry(seed, 'a')]);
    t.equal(first.status, 0);
    t.same([...first.codes], [DRAW_ENTERED, DRAW_ENTERED, DRAW_ENTERED], 'entered (the repeat within the call too)');
    t.equal(first.entrants, 2, 'two entrants');
    const again = await drawEnter(redis, k, seed, [entry(seed, 'a')]);
    t.equal(again.entrants, 2, 'entering again changes nothing');
    t.equal(await redis.zcard(k.draw), 2);
    const other = newSeed();
    t.equal((await drawEnter(redis, k, other, [entry(other, 'c')])).status, 9, 'another seed: stale, nobody enters');
    t.equal(await redis.hlen(k.entrants), 2);
    const early = await drawDecide(redis, k, seed, []);
    t.equal(early.status, 2, 'decide before the close: not yet');
    t.ok(early.x > 50_000 && early.x <= 61_000, `with the ms left: ${early.x}`);
    await close(k);
    t.equal((await drawEnter(redis, k, seed, [entry(seed, 'late')])).status, DRAW_CLOSED, 'after the close: closed');
    t.equal(await redis.hlen(k.entrants), 2, 'the late user did not enter');
  });

  t.test('decided once at the close: ascending score, exactly the stock, orders in score order, the stream as buy-8 writes it', async (t) => {
    const { k, seed } = await drawEvent('exact', 30, 60_000);
    const users = Array.from({ length: 200 }, (_, i) => `u${i}`);
    for (let i = 0; i < users.length; i += 50) await drawEnter(redis, k, seed, users.slice(i, i + 50).map((u) => entry(seed, u)));
    t.equal(await buy(redis, k, ['fcfs']).then((r) => r.codes[0]), 0, '(a buy straight to buy-8 still wins: the draw takes what is left)');
    await close(k);
    const expect = allocate(seed, 29, users.map((u) => ({ key: entrantKey(u), asked: 1 })));
    const [d1, d2] = await Promise.all([drawDecide(redis, k, seed, users.slice(0, 100).map((u) => ({ user: u, key: entrantKey(u) }))), drawDecide(redis, k, seed, users.slice(100).map((u) => ({ user: u, key: entrantKey(u) })))]);
    t.same([d1.status, d2.status].sort(), [0, 1], 'one call decided, the other only answered');
    t.equal(d1.x, 0);
    const codes = [...d1.codes, ...d2.codes];
    const orders = [...d1.orders, ...d2.orders];
    t.equal(codes.filter((c) => c === 0).length, 29, 'exactly the 29 units left won');
    t.equal(codes.filter((c) => c === 1).length, 171, 'the others: sold out');
    users.forEach((u, i) => t.equal(codes[i] === 0 ? 1 : 0, expect.get(entrantKey(u)), `${u}: as recomputed from the seed`));
    const winners = users.map((u, i) => ({ u, o: orders[i] ?? 0, s: drawScore(seed, entrantKey(u)) })).filter((w) => w.o > 0).sort((a, b) => a.o - b.o);
    t.same(winners.map((w) => w.o), Array.from({ length: 29 }, (_, i) => i + 2), 'order numbers 2..30 after the first-come one');
    t.same(winners.map((w) => w.s), [...winners.map((w) => w.s)].sort(), 'numbered in ascending score');
    t.equal(await redis.get(k.stock), '0');
    const stream = parseEntries((await redis.xrange(k.orders, '-', '+')) as [string, string[]][]);
    t.same(stream.map((o) => o.orderNo), Array.from({ length: 30 }, (_, i) => i + 1), 'every order in the stream for the persister');
    t.equal(await redis.hget(k.meta, 'unpersisted'), '30');
    const again = await drawDecide(redis, k, seed, [{ user: 'u0', key: entrantKey('u0') }, { user: 'nobody', key: entrantKey('nobody') }]);
    t.equal(again.status, 1, 'decided before');
    t.equal(again.codes[1], DRAW_CLOSED, 'a user who did not enter: go the normal way');
    const list = await readDrawList(redis, k);
    t.equal(list.length, 200, 'the published list: every entrant');
    t.equal(list.reduce((n, e) => n + e.won, 0), 29);
    t.same(await redis.hmget(k.meta, 'drawEntrants', 'drawStock'), ['200', '29']);
    t.equal((await putEvent(redis, k, { stock: 31, start: Date.now(), end: Date.now() + 3_600_000, name: '', drawMs: 100 })).result, PutEventResult.HasBuyers);
  });

  t.test("q units all or nothing: an entrant asking more than is left takes nothing, a later one asking less takes it", async (t) => {
    const { k, seed } = await drawEvent('qty', 3, 60_000);
    const users = Array.from({ length: 40 }, (_, i) => `q${i}`);
    const asks = users.map((_, i) => 1 + (i % 3));
    await drawEnter(redis, k, seed, users.map((u, i) => entry(seed, u, asks[i])));
    await close(k);
    const d = await drawDecide(redis, k, seed, users.map((u) => ({ user: u, key: entrantKey(u) })));
    const expect = allocate(seed, 3, users.map((u, i) => ({ key: entrantKey(u), asked: asks[i] ?? 1 })));
    const list = new Map((await readDrawList(redis, k)).map((e) => [e.key, e]));
    users.forEach((u, i) => {
      t.equal(list.get(entrantKey(u))?.won, expect.get(entrantKey(u)), `${u} asked ${asks[i]}: won as recomputed`);
      t.equal(d.codes[i] === 0, (expect.get(entrantKey(u)) ?? 0) > 0);
    });
    t.equal([...expect.values()].reduce((a, b) => a + b, 0) + Number(await redis.get(k.stock)), 3, 'units won + left = the stock');
  });

  t.test('paused: nobody enters, nothing is decided until resumed; ended undecided', async (t) => {
    const { k, seed } = await drawEvent('paused', 5, 60_000);
    await drawEnter(redis, k, seed, [entry(seed, 'p1')]);
    await pauseEvent(redis, k, true);
    t.equal((await drawEnter(redis, k, seed, [entry(seed, 'p2')])).status, 16, 'entering while paused: 16');
    await close(k);
    t.equal((await drawDecide(redis, k, seed, [{ user: 'p1', key: entrantKey('p1') }])).status, 16, 'deciding while paused: 16');
    t.equal(await redis.hget(k.meta, 'drawn'), null, 'nothing decided');
    t.equal(await redis.hlen(k.buyers), 0);
    await pauseEvent(redis, k, false);
    const d = await drawDecide(redis, k, seed, [{ user: 'p1', key: entrantKey('p1') }]);
    t.same([d.status, d.codes[0], d.orders[0]], [0, 0, 1], 'resumed: decided, p1 won order 1');
  });

  t.test('a redefinition: refused while the draw has entrants; kept seed before; a new seed after a draw nobody entered', async (t) => {
    const { k, seed } = await drawEvent('redef', 5, 60_000);
    const now = Date.now();
    const def = { stock: 7, start: now + 60_000, end: now + 3_600_000, name: '', drawMs: 500 };
    const moved = await putEvent(redis, k, def);
    t.same([moved.result, moved.seed], [PutEventResult.Updated, seed], 'no entrants: changed, the seed kept (its commit was published)');
    await close(k);
    const empty = await drawDecide(redis, k, seed, []);
    t.equal(empty.status, 0, 'a draw nobody entered is decided too (its seed is revealed)');
    const again = await putEvent(redis, k, def);
    t.equal(again.result, PutEventResult.Updated, 'a draw nobody entered does not hold the event');
    t.not(again.seed, seed, 'and the changed sale draws with a new seed');
    t.equal(await redis.hget(k.meta, 'drawn'), null, 'undecided again');
    const e = await drawEvent('held', 5, 60_000);
    await drawEnter(redis, e.k, e.seed, [entry(e.seed, 'x')]);
    t.equal((await putEvent(redis, e.k, { ...def, stock: 9 })).result, PutEventResult.HasBuyers, 'entrants hold the definition like buyers');
  });

  t.test('with a payment deadline a drawn win is due, as a bought one', async (t) => {
    const { k, seed } = await drawEvent('due', 2, 60_000, { payWithin: 600 });
    await drawEnter(redis, k, seed, [entry(seed, 'd1')]);
    await close(k);
    const d = await drawDecide(redis, k, seed, [{ user: 'd1', key: entrantKey('d1') }]);
    t.equal(d.codes[0], 0);
    t.equal(await redis.zcard(k.due), 1, 'due');
    t.equal(await redis.hget(k.owners, '1'), 'd1');
  });
  t.test('lots (limit 2): entered within the limit, each its q all or nothing, written as buyLots-8 writes, losers told 1 or 14 as the count says', async (t) => {
    const { k, seed } = await drawEvent('lotdraw', 6, 60_000, { limit: 2, payWithin: 600 });
    // Two buys straight to buyLots-8 (a process that had not heard of the draw): p2 holds the limit, p1 one unit.
    const before = await buyLots(redis, k, ['p2', 2, '', 'p1', 1, '']);
    t.same([...before.codes], [0, 0], '(bought before the draw)');
    const e1 = await drawEnter(redis, k, seed, [entry(seed, 'p2', 1), entry(seed, 'p1', 2)]);
    t.same([[...e1.codes], [...e1.orders], [...e1.counts]], [[2, 13], [1, 0], [0, 1]], 'at the limit: 2 with the last order; units + q past it: 13 with k 1; neither enters');
    const users = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'p1'];
    const asks = [2, 2, 1, 2, 1, 2, 1, 1];
    const e2 = await drawEnter(redis, k, seed, users.map((u, i) => entry(seed, u, asks[i])));
    t.same([...e2.codes], users.map(() => DRAW_ENTERED), 'the others enter, p1 with the unit it may still take');
    t.equal(e2.entrants, users.length);
    await close(k);
    const d = await drawDecide(redis, k, seed, users.map((u) => ({ user: u, key: entrantKey(u) })));
    t.equal(d.status, 0, 'decided');
    const expect = allocate(seed, 3, users.map((u, i) => ({ key: entrantKey(u), asked: asks[i] ?? 1 })));
    const left = d.x;
    t.equal(left, 3 - [...expect.values()].reduce((a, b) => a + b, 0), 'units left: 3 less what the draw gave');
    t.equal(await redis.hget(k.meta, 'sku:'), String(left), "the lots count (the meta's sku:) follows");
    const wins: number[] = [];
    for (const [i, u] of users.entries()) {
      const asked = asks[i] ?? 1;
      const won = expect.get(entrantKey(u)) ?? 0;
      if (won > 0) {
        t.same([d.codes[i], d.counts[i]], [0, asked], `${u} asked ${asked}: won ${asked} units`);
        const order = d.orders[i] ?? 0;
        wins.push(order);
        const h = parseHolding(await redis.hget(k.buyers, u));
        t.ok(h.orders.some((o) => o.order === order && o.q === asked && o.sku === ''), `${u}: the order in the buyers value (${JSON.stringify(h)})`);
        t.equal(await redis.hget(k.owners, String(order)), `${asked},,${u}`, `${u}: owners as buyLots writes them`);
      } else {
        const code = left <= 0 ? 1 : 14;
        t.same([d.codes[i], d.counts[i]], [code, code === 14 ? left : 0], `${u} asked ${asked} and lost: ${code === 1 ? '1, nothing left' : `14, ${left} left`}`);
      }
    }
    t.ok(wins.length > 0, 'someone won');
    const p1 = parseHolding(await redis.hget(k.buyers, 'p1'));
    t.equal(p1.units, 1 + (expect.get(entrantKey('p1')) ?? 0), "p1's units: the one bought before and what the draw gave");
    t.equal(await redis.hget(k.meta, 'orders:'), String(2 + wins.length), "the meta's orders: counts the draw's orders");
    const stream = parseEntries((await redis.xrange(k.orders, '-', '+')) as [string, string[]][]);
    const drawn = stream.filter((o) => wins.includes(o.orderNo));
    t.equal(drawn.length, wins.length, 'every drawn order in the stream');
    t.ok(drawn.every((o) => o.qty === asks[users.indexOf(o.user)] && o.sku === '' && (o.nth ?? 0) >= 1), 'with its q, SKU and nth, for the persister');
    t.equal(drawn.find((o) => o.user === 'p1')?.nth ?? 2, 2, "p1's drawn order is its second");
    const winner = users.find((u) => (expect.get(entrantKey(u)) ?? 0) > 0) as string;
    const again = await drawDecide(redis, k, seed, [{ user: winner, key: entrantKey(winner) }]);
    t.same([again.status, again.codes[0], again.orders[0], again.counts[0]], [1, 0, d.orders[users.indexOf(winner)], asks[users.indexOf(winner)]], 'asked again: the same order and units');
    // Units back (an expiry): a loser is no longer told 1 or 14 but sent the normal way (101), where buyLots-8 decides.
    await redis.set(k.stock, 5);
    await redis.hset(k.meta, 'sku:', 5);
    const loser = users.find((u) => (expect.get(entrantKey(u)) ?? 0) === 0);
    if (loser !== undefined) {
      const later = await drawDecide(redis, k, seed, [{ user: loser, key: entrantKey(loser) }]);
      t.equal(later.codes[0], DRAW_CLOSED, 'a loser once units are back: the normal way');
    }
  });
});
