import { Redis } from 'ioredis';
import t from 'tap';
import type { RowDataPacket } from 'mysql2/promise';
import { EventStore } from '../src/events/event-store';
import { reconcileEvent } from '../src/orders/reconcile';
import { Persister } from '../src/orders/persister';
import { parseEntries } from '../src/orders/stream';
import { buy, count, openEvent, testApp, token, type TestApp, sellOut } from './helpers/app';
import { tempDir, testMysql, testRedis } from './helpers/services';
import { until } from './helpers/wait';

async function rows(app: TestApp, event: string): Promise<{ order_no: number; user_id: string }[]> {
  const [r] = await app.pool!.query<RowDataPacket[]>('SELECT order_no, user_id FROM orders WHERE event_id = ? ORDER BY order_no', [event]);
  return r as { order_no: number; user_id: string }[];
}

async function orderState(app: TestApp, event: string, user: string): Promise<unknown> {
  const res = await fetch(`${app.base}/events/${event}/order`, { headers: { authorization: `Bearer ${token(user)}` } });
  return { status: res.status, ...((await res.json()) as object) };
}

t.test('a sale of 200 to 1,000 users lands in MySQL exactly; reconcile is clean', async (t) => {
  const db = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: db.url });
  await openEvent(t, app.base, 'big', 200);
  const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => buy(app.base, 'big', `user${i}`).then((a) => ({ user: `user${i}`, ...a }))));
  const winners = answers.filter((a) => a.c === 0);
  t.equal(winners.length, 200);
  const k = app.catalog.get('big')!.keys;
  await until(() => app.persister!.persisted >= 200, 'all 200 persisted');
  const stored = await rows(app, 'big');
  t.equal(stored.length, 200, 'exactly 200 rows');
  t.equal(new Set(stored.map((r) => r.user_id)).size, 200, 'distinct users');
  t.same(stored.map((r) => r.order_no), Array.from({ length: 200 }, (_, i) => i + 1), 'order numbers 1..200');
  t.same(new Map(stored.map((r) => [r.user_id, r.order_no])), new Map(winners.map((w) => [w.user, w.o])), 'each row is what its user was told');
  t.equal(await app.redis.xlen(k.orders), 0, 'persisted entries are trimmed from the stream');
  const report = await reconcileEvent(app.redis, app.pool!, new EventStore(app.pool!), 'big', false);
  t.same(report.problems, [], 'reconcile: no mismatch');
  t.match(report, { stock: 200, remaining: 0, buyers: 200, inStream: 0, mysqlOrders: 200, mysqlUsers: 200, missing: 0 });
  const [[event]] = await app.pool!.query<RowDataPacket[]>('SELECT stock FROM events WHERE id = ?', ['big']);
  t.equal(event?.stock, 200, 'the event itself is in MySQL');
});

t.test('order query: none (11), pending before persistence, confirmed after', async (t) => {
  const db = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: db.url, persister: false });
  await openEvent(t, app.base, 'q', 5);
  t.same(await orderState(app, 'q', 'ann'), { status: 404, c: 11 }, 'no order yet');
  t.same(await buy(app.base, 'q', 'ann'), { status: 200, c: 0, o: 1 });
  t.same(await orderState(app, 'q', 'ann'), { status: 200, c: 0, o: 1, s: 'pending' }, 'in Redis, not in MySQL');
  app.catalog.get('q')!.forgetWinners(); // answered from Redis' buyers, as another server would
  t.same(await orderState(app, 'q', 'ann'), { status: 200, c: 0, o: 1, s: 'pending' });
  const p = new Persister(app.redis, app.pool!, () => app.catalog.all(), { batch: 100, waitMs: 10, claimIdleMs: 60_000, consumer: 'one' });
  t.ok(await p.flush(5_000), 'a persister writes it');
  t.same(await orderState(app, 'q', 'ann'), { status: 200, c: 0, o: 1, s: 'confirmed' });
  t.same(await orderState(app, 'none', 'ann'), { status: 404, c: 7 }, 'unknown event');
  const anon = await fetch(`${app.base}/events/q/order`);
  t.equal(anon.status, 401);
});

t.test('several persisters at once: every order exactly once', async (t) => {
  const db = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: db.url, persister: false });
  await sellOut(t, app, 'many', 2000, 'm');
  const persisters = Array.from(
    { length: 3 },
    // One stream entry (one buy batch) per read, so there are several reads to share.
    (_, i) => new Persister(app.redis, app.pool!, () => app.catalog.all(), { batch: 1, waitMs: 5, claimIdleMs: 60_000, consumer: `p${i}` }),
  );
  persisters.forEach((p) => p.start());
  await until(async () => (await app.redis.xlen('sk:{many}:orders')) === 0, 'the stream drained', 30_000, 20);
  await Promise.all(persisters.map((p) => p.stop()));
  t.ok(persisters.filter((p) => p.persisted > 0).length >= 2, `the work was shared (${persisters.map((p) => p.persisted).join(', ')})`);
  t.equal(persisters.reduce((n, p) => n + p.persisted, 0), 2000, 'each order written by exactly one of them');
  t.equal(await app.redis.hget('sk:{many}:meta', 'unpersisted'), '0', 'the count of orders in the stream is back to 0');
  const stored = await rows(app, 'many');
  t.equal(stored.length, 2000);
  t.equal(new Set(stored.map((r) => r.user_id)).size, 2000);
});

t.test('gathering: orders trickling in one at a time are written in a few larger commits, and all of them', async (t) => {
  const db = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: db.url, persister: false });
  await openEvent(t, app.base, 'drip', 60);
  const make = (gatherMs: number, name: string): Persister =>
    new Persister(app.redis, app.pool!, () => app.catalog.all(), { batch: 1_000, waitMs: 1, gatherMs, claimIdleMs: 60_000, consumer: name });
  // Without gathering, each order bought after the last round is its own commit; with a gather longer than the whole trickle, the first
  // round after it takes all that came meanwhile.
  const drip = async (from: number, p: Persister): Promise<void> => {
    p.start();
    for (let i = from; i < from + 30; i++) {
      t.equal((await buy(app.base, 'drip', `d${i}`)).c, 0);
      if (i === from) await until(() => p.persisted === 1, 'the first order is written');
    }
    t.ok(await p.flush(10_000), 'flushed');
  };
  const eager = make(0, 'eager');
  await drip(0, eager);
  const patient = make(60_000, 'patient');
  await drip(30, patient);
  t.equal(eager.persisted + patient.persisted, 60, 'every order written');
  t.ok(eager.commits >= 3, `without gathering: ${eager.commits} commits for 30 orders trickling in`);
  t.equal(patient.commits, 2, 'with a 60 s gather: the first order, then the other 29 at the flush');
  t.equal((await rows(app, 'drip')).length, 60);
  t.equal(await app.redis.hget(app.catalog.get('drip')!.keys.meta, 'unpersisted'), '0', 'nothing left counted in the stream');
});

t.test('MySQL down during a sale: buyers keep getting answers; every win lands once it is back', async (t) => {
  const dir = tempDir(t);
  let db = await testMysql(t, dir);
  const app = await testApp(t, { mysqlUrl: db.url, persistWaitMs: 10 });
  await openEvent(t, app.base, 'm', 150);
  const first = await Promise.all(Array.from({ length: 50 }, (_, i) => buy(app.base, 'm', `a${i}`)));
  t.equal(count(first, (a) => a.c === 0), 50);
  await until(() => app.persister!.persisted >= 50, 'first 50 persisted');
  await db.stop();
  const during = await Promise.all(Array.from({ length: 200 }, (_, i) => buy(app.base, 'm', `b${i}`).then((a) => ({ user: `b${i}`, ...a }))));
  t.equal(count(during, (a) => a.c === 0), 100, 'the sale goes on: the other 100 units sell');
  t.equal(count(during, (a) => a.c === 1), 100);
  const keys = app.catalog.get('m')!.keys;
  // A client of the test's own: the server's has its command timeout, which a loaded machine can outlast.
  const redis = new Redis({ path: app.redisSocket });
  t.teardown(() => redis.disconnect());
  t.equal(parseEntries(await redis.xrange(keys.orders, '-', '+')).length, 100, 'their orders wait in the stream');
  t.equal(await redis.hget(keys.meta, 'unpersisted'), '100', 'and the meta counts them');
  db = await testMysql(t, dir);
  await until(() => app.persister!.persisted >= 150, 'the backlog persisted', 30_000);
  const stored = await rows(app, 'm');
  t.equal(stored.length, 150, 'every won order landed');
  t.equal(new Set(stored.map((r) => r.order_no)).size, 150, 'none twice');
  const report = await reconcileEvent(app.redis, app.pool!, new EventStore(app.pool!), 'm', false);
  t.same(report.problems, []);
});

t.test('warm-up from MySQL: a Redis that lost an event gets it back with its orders, never resold', async (t) => {
  const dir = tempDir(t);
  const db = await testMysql(t, dir);
  const redis1 = await testRedis(t, tempDir(t));
  const app1 = await testApp(t, { mysqlUrl: db.url, redisUrl: redis1.socket });
  await openEvent(t, app1.base, 'w', 10);
  const sold = await Promise.all(Array.from({ length: 4 }, (_, i) => buy(app1.base, 'w', `w${i}`)));
  t.equal(count(sold, (a) => a.c === 0), 4);
  await app1.close();
  // A brand-new, empty Redis: only MySQL remembers the sale.
  const redis2 = await testRedis(t, tempDir(t));
  const app2 = await testApp(t, { mysqlUrl: db.url, redisUrl: redis2.socket });
  const e = app2.catalog.get('w');
  t.ok(e, 'the event is warmed from MySQL');
  t.equal(await app2.redis.get('sk:{w}:stock'), '6', 'remaining = stock - stored orders');
  t.same(await buy(app2.base, 'w', 'w2'), { status: 200, c: 2, o: sold[2]!.o }, 'an earlier winner is still a winner');
  const more = await Promise.all(Array.from({ length: 10 }, (_, i) => buy(app2.base, 'w', `x${i}`)));
  t.equal(count(more, (a) => a.c === 0), 6, 'only the 6 left sell');
  t.same(more.filter((a) => a.c === 0).map((a) => a.o).sort((a, b) => a! - b!), [5, 6, 7, 8, 9, 10], 'order numbers carry on');
});
