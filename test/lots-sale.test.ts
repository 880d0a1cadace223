import type { RowDataPacket } from 'mysql2/promise';
import t, { type Test } from 'tap';
import { EventStore } from '../src/events/event-store';
import { connectMysql } from '../src/orders/mysql';
import { reconcileEvent } from '../src/orders/reconcile';
import { parseHolding } from '../src/redis/lots';
import { putEvent, testApp, token, type TestApp } from './helpers/app';
import { testMysql } from './helpers/services';
import { until } from './helpers/wait';

/** Events sold in lots with MySQL: a crowd on two instances, Redis data loss, payment expiry (issue 23). */

interface Lot {
  readonly c: number;
  readonly o?: number;
  readonly q?: number;
}

interface Listed {
  readonly o: number;
  readonly q: number;
  readonly sku?: string;
  readonly p?: string;
}

async function buyLot(base: string, event: string, user: string, q: number, sku?: string): Promise<Lot> {
  const query = `?q=${q}${sku === undefined ? '' : `&sku=${sku}`}`;
  const res = await fetch(`${base}/events/${event}/buy${query}`, { method: 'POST', headers: { authorization: `Bearer ${token(user)}` } });
  return (await res.json()) as Lot;
}

async function ordersOf(base: string, event: string, user: string): Promise<Listed[]> {
  const res = await fetch(`${base}/events/${event}/order`, { headers: { authorization: `Bearer ${token(user)}` } });
  const body = (await res.json()) as { c: number; orders?: Listed[] };
  return body.orders ?? [];
}

/** Two servers on one Redis and one MySQL, each with its persister. */
async function twoServers(t: Test, extra = {}): Promise<{ a: TestApp; b: TestApp; store: EventStore }> {
  const mysql = await testMysql(t);
  const a = await testApp(t, { mysqlUrl: mysql.url, eventRefreshMs: 200, ...extra });
  const b = await testApp(t, { mysqlUrl: mysql.url, redisUrl: a.redisSocket, eventRefreshMs: 200, ...extra });
  const pool = await connectMysql({ url: mysql.url });
  t.teardown(() => pool.end());
  return { a, b, store: new EventStore(pool) };
}

/**
 * A client of a lots event: buys, and on "not decided" (5, 6, 10) asks the
 * order query whether it won before trying again (a retry would be another
 * order). Returns the won order's number and units, or the final code.
 */
async function client(bases: string[], event: string, user: string, q: number, sku?: string): Promise<{ code: number; order: number; q: number }> {
  const before = (await ordersOf(bases[0] as string, event, user)).length;
  for (let i = 0; ; i++) {
    const base = bases[i % bases.length] as string;
    const a = await buyLot(base, event, user, q, sku);
    if (![5, 6, 10].includes(a.c)) return { code: a.c, order: a.o ?? 0, q: a.c === 0 ? (a.q ?? 1) : 0 };
    await new Promise((r) => setTimeout(r, 20));
    const now = await ordersOf(base, event, user);
    if (now.length > before) {
      const last = now[now.length - 1] as Listed;
      return { code: 0, order: last.o, q: last.q };
    }
  }
}

t.test('a crowd with mixed q, limits and SKUs on two instances: exact units, no user above the limit, MySQL and reconcile agree', async (t) => {
  const { a, b, store } = await twoServers(t);
  const events = {
    mix: { limit: 3, skus: { red: 40, blue: 30, green: 20 } as Record<string, number> },
    pair: { limit: 2, skus: undefined },
  };
  t.equal((await putEvent(a.base, 'mix', { limit: 3, skus: events.mix.skus } as never)).status, 201);
  t.equal((await putEvent(a.base, 'pair', { stock: 60, limit: 2 } as never)).status, 201);
  await until(() => b.catalog.get('mix') !== undefined && b.catalog.get('pair') !== undefined, 'the other instance knows both');
  const users = Array.from({ length: 120 }, (_, i) => `u${i}`);
  const ids = Object.keys(events.mix.skus);
  let seed = 7;
  const random = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const won: { event: string; user: string; order: number; q: number; sku: string }[] = [];
  const codes = new Map<number, number>();
  const tasks: (() => Promise<void>)[] = [];
  for (const user of users) {
    for (let k = 0; k < 3; k++) {
      const sku = ids[random(ids.length)] as string;
      const q1 = 1 + random(3);
      const q2 = 1 + random(2);
      const bases = random(2) === 0 ? [a.base, b.base] : [b.base, a.base];
      tasks.push(async () => {
        const r = await client(bases, 'mix', user, q1, sku);
        codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
        if (r.code === 0) won.push({ event: 'mix', user, order: r.order, q: r.q, sku });
      });
      tasks.push(async () => {
        const r = await client(bases, 'pair', user, q2);
        codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
        if (r.code === 0) won.push({ event: 'pair', user, order: r.order, q: r.q, sku: '' });
      });
    }
  }
  // Then one unit at a time of whatever is left, so every SKU sells out.
  for (let i = 0; i < 40; i++) {
    for (const sku of ids) tasks.push(async () => {
      const r = await client([a.base, b.base], 'mix', `s${i}`, 1, sku);
      if (r.code === 0) won.push({ event: 'mix', user: `s${i}`, order: r.order, q: r.q, sku });
    });
    tasks.push(async () => {
      const r = await client([b.base, a.base], 'pair', `s${i}`, 1);
      if (r.code === 0) won.push({ event: 'pair', user: `s${i}`, order: r.order, q: r.q, sku: '' });
    });
  }
  let next = 0;
  await Promise.all(Array.from({ length: 24 }, async () => {
    while (next < tasks.length) await (tasks[next++] as () => Promise<void>)();
  }));
  t.comment(`answers by code: ${JSON.stringify([...codes].sort())}`);
  t.ok((codes.get(13) ?? 0) > 0 && (codes.get(0) ?? 0) > 0, 'wins and over-limit answers among them');

  for (const [event, stocks] of [['mix', events.mix.skus], ['pair', { '': 60 }]] as const) {
    const mine = won.filter((w) => w.event === event);
    for (const [sku, stock] of Object.entries(stocks)) {
      const units = mine.filter((w) => w.sku === sku).reduce((n, w) => n + w.q, 0);
      t.equal(units, stock, `${event} ${sku || '(no SKU)'}: the sum of q over the won answers is its stock`);
      t.equal(Number(await a.redis.hget(`sk:{${event}}:meta`, `sku:${sku}`)), 0, `${event} ${sku || '(no SKU)'}: Redis has none left`);
    }
    t.equal(new Set(mine.map((w) => w.order)).size, mine.length, `${event}: every won answer has its own order number`);
    const buyers = await a.redis.hgetall(`sk:{${event}}:buyers`);
    const limit = event === 'mix' ? 3 : 2;
    t.ok(Object.values(buyers).every((v) => parseHolding(v).units <= limit), `${event}: no user above the limit of ${limit}`);
    const perUser = new Map<string, number>();
    for (const w of mine) perUser.set(w.user, (perUser.get(w.user) ?? 0) + w.q);
    t.same(Object.fromEntries(Object.entries(buyers).map(([u, v]) => [u, parseHolding(v).units])), Object.fromEntries(perUser), `${event}: each user's units in Redis are the units of their won answers`);

    await until(async () => Number(await a.redis.hget(`sk:{${event}}:meta`, 'unpersisted')) === 0, `${event}: every order in MySQL`, 30_000, 50);
    const [rows] = await store.pool.query<RowDataPacket[]>('SELECT order_no, user_id, qty, sku FROM orders WHERE event_id = ? ORDER BY order_no', [event]);
    t.same(
      rows.map((r) => [Number(r.order_no), String(r.user_id), Number(r.qty), String(r.sku)]),
      [...mine].sort((x, y) => x.order - y.order).map((w) => [w.order, w.user, w.q, w.sku]),
      `${event}: MySQL has exactly the won orders, with their units and SKUs`,
    );
    const report = await reconcileEvent(a.redis, store.pool, store, event, false);
    t.same(report.problems, [], `${event}: reconcile is clean`);
  }
});

t.test('Redis loses its data mid-sale: the restore keeps every user\'s units and each SKU\'s count, and the sale goes on', async (t) => {
  const { a, store } = await twoServers(t);
  t.equal((await putEvent(a.base, 'loss', { limit: 4, skus: { x: 10, y: 10 } } as never)).status, 201);
  const bought: [string, number, string][] = [['a', 3, 'x'], ['b', 2, 'y'], ['a', 1, 'y'], ['c', 4, 'x'], ['d', 1, 'x']];
  for (const [user, q, sku] of bought) t.equal((await buyLot(a.base, 'loss', user, q, sku)).c, 0, `${user} buys ${q} ${sku}`);
  await until(async () => Number(await a.redis.hget('sk:{loss}:meta', 'unpersisted')) === 0, 'every order in MySQL', 10_000, 20);
  const before = await a.redis.hgetall('sk:{loss}:buyers');
  await a.redis.flushall();
  // A buy finds the event gone: 10, and the restore from MySQL begins.
  await until(async () => (await buyLot(a.base, 'loss', 'e', 1, 'y')).c === 0, 'sold again after the restore', 20_000, 50);
  const after = await a.redis.hgetall('sk:{loss}:buyers');
  for (const [user, value] of Object.entries(before)) t.equal(parseHolding(after[user]).units, parseHolding(value).units, `${user}: the same units after the restore`);
  t.same(parseHolding(after.a).orders.map((o) => [o.q, o.sku]), [[3, 'x'], [1, 'y']], "a's two orders, with their units and SKUs");
  t.same([await a.redis.hget('sk:{loss}:meta', 'sku:x'), await a.redis.hget('sk:{loss}:meta', 'sku:y')], ['2', '6'], 'x: 10 − 8; y: 10 − 4 (e\'s unit included)');
  t.same(await buyLot(a.base, 'loss', 'a', 1, 'x'), { c: 2, o: 3 }, 'a holds 4, the limit: already bought, their last order');
  t.same(await buyLot(a.base, 'loss', 'f', 3, 'x'), { c: 14, n: 2 }, 'f asks 3 x: 2 left');
  await until(async () => Number(await a.redis.hget('sk:{loss}:meta', 'unpersisted')) === 0, 'every order in MySQL', 10_000, 20);
  t.same((await reconcileEvent(a.redis, store.pool, store, 'loss', false)).problems, [], 'reconcile is clean');
});

t.test('payment expiry gives q units back to their SKU; they are sold again; the user stays at their limit', async (t) => {
  const { a, b, store } = await twoServers(t, { paymentToken: 'pay' });
  t.equal((await putEvent(a.base, 'due', { limit: 2, skus: { s: 2, m: 2 }, payWithin: 1 } as never)).status, 201);
  await until(() => b.catalog.get('due') !== undefined, 'b knows the event');
  t.same(await buyLot(a.base, 'due', 'x', 2, 's'), { c: 0, o: 1, q: 2 }, 'x wins both s');
  t.same(await buyLot(a.base, 'due', 'y', 1, 'm'), { c: 0, o: 2 }, 'y wins one m');
  t.same(await buyLot(b.base, 'due', 'z', 1, 's'), { c: 1 }, 'z, on the other server: s is sold out');
  const paid = await fetch(`${a.base}/events/due/orders/2/paid`, { method: 'POST', headers: { authorization: 'Bearer pay' } });
  t.equal(paid.status, 200, 'y pays');
  await until(async () => (await ordersOf(a.base, 'due', 'x'))[0]?.p === 'expired', "x's order expires", 5_000, 20);
  t.same([await a.redis.hget('sk:{due}:meta', 'sku:s'), await a.redis.hget('sk:{due}:meta', 'sku:m')], ['2', '1'], 'its 2 units are back in s; m unchanged');
  await until(() => b.catalog.get('due')?.skuRemaining(0) === 2, 'the other server learns of them');
  t.same(await buyLot(b.base, 'due', 'z', 2, 's'), { c: 0, o: 3, q: 2 }, 'z buys them on the other server');
  t.same(await buyLot(a.base, 'due', 'x', 1, 'm'), { c: 12, o: 1 }, 'x holds their limit in an expired order: 12');
  await fetch(`${a.base}/events/due/orders/3/paid`, { method: 'POST', headers: { authorization: 'Bearer pay' } });
  await until(async () => Number(await a.redis.hget('sk:{due}:meta', 'unpersisted')) === 0, 'every order in MySQL', 10_000, 20);
  await until(async () => (await store.payments('due')).size === 3, 'every settlement in MySQL', 10_000, 20);
  const report = await reconcileEvent(a.redis, store.pool, store, 'due', false);
  t.same(report.problems, [], 'reconcile is clean');
  t.match(report.skus, { s: { stock: 2, remaining: 0, sold: 2, orders: 2 }, m: { stock: 2, remaining: 1, sold: 1, orders: 1 } }, 'per SKU: units sold, orders');
});
