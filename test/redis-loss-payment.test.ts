import t from 'tap';
import type { RowDataPacket } from 'mysql2/promise';
import { EventStore } from '../src/events/event-store';
import { reconcileEvent } from '../src/orders/reconcile';
import { Persister } from '../src/orders/persister';
import { eventKeys } from '../src/redis/keys';
import { expireDue } from '../src/redis/scripts';
import { ADMIN, buy, putEvent, testApp, type TestApp } from './helpers/app';
import { testMysql } from './helpers/services';
import { until } from './helpers/wait';

/**
 * Fault injection (Redis loss, payment deadline): the orders are in MySQL as
 * due; then Redis settles them (one paid, three expired, their units back in
 * stock) and the settlements still wait in the stream when Redis loses ONE
 * key (sk:{E}:stock) and the event is restored from MySQL. The restore once
 * put all four back in `due` from MySQL's older view: the next sweep expired
 * them again and gave their units back a second time (11 units sold of 4).
 */
async function pay(app: TestApp, event: string, order: number): Promise<{ status: number; c: number }> {
  const res = await fetch(`${app.base}/events/${event}/orders/${order}/paid`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
  return { status: res.status, ...((await res.json()) as { c: number }) };
}

t.test('paid and expired orders whose settlement is not yet in MySQL stay settled through a partial loss and restore: no unit sold twice', async (t) => {
  const db = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: db.url, persister: false });
  t.equal((await putEvent(app.base, 'pr', { stock: 4, payWithin: 2 })).status, 201);
  const k = eventKeys('pr');
  const won: Record<string, number> = {};
  for (const u of ['a', 'b', 'c', 'd']) {
    const x = await buy(app.base, 'pr', u);
    t.equal(x.c, 0, `${u} wins`);
    won[u] = x.o!;
  }
  const persister = (): Persister =>
    new Persister(app.redis, app.pool!, () => [{ id: 'pr', keys: k }], { batch: 1000, waitMs: 5, gatherMs: 20, claimIdleMs: 1000, consumer: 'p' });
  t.ok(await persister().flush(10_000), 'the 4 orders are in MySQL (due)');
  t.equal((await pay(app, 'pr', won.a!)).c, 0, 'a pays');
  await until(async () => (await app.redis.hlen(k.expired)) === 3, 'b, c, d expire', 10_000, 50);
  t.equal(await app.redis.get(k.stock), '3', '3 units back in stock');
  t.equal(await app.redis.xlen(k.orders), 4, '4 settlement entries wait in the stream (p, x, x, x)');
  // Redis loses the stock key only
  await app.redis.del(k.stock);
  // a buyer triggers the restore
  let e: { c: number; o?: number } = { c: 10 };
  for (let i = 0; i < 50 && [5, 6, 10].includes(e.c); i++) {
    e = await buy(app.base, 'pr', 'e');
    if ([5, 6, 10].includes(e.c)) await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(e.c, 0, 'e wins after the restore');
  const dueAfter = await app.redis.zrange(k.due, 0, -1);
  const paidAfter = await app.redis.smembers(k.paid);
  t.comment(`after restore: stock ${await app.redis.get(k.stock)}, due ${JSON.stringify(dueAfter)}, paid ${JSON.stringify(paidAfter)}, expired ${JSON.stringify(await app.redis.hkeys(k.expired))}`);
  t.notOk(dueAfter.includes(String(won.a)), 'the paid order is not due again');
  t.same((await expireDue(app.redis, k, 500)).expired, [], 'a sweep (their deadlines have passed) finds nothing due: nothing expires twice');
  const stock = Number(await app.redis.get(k.stock));
  t.equal(stock, 2, 'the 4 units less a (paid) and e (won after the restore)');
  t.same(await app.redis.smembers(k.paid), [String(won.a)], 'a stays paid');
  t.same((await app.redis.hkeys(k.expired)).sort(), [won.b, won.c, won.d].map(String).sort(), 'b, c, d stay expired');
  // buy everything that is left
  const more: string[] = [];
  for (let i = 0; i < 10; i++) {
    const x = await buy(app.base, 'pr', `m${i}`);
    if (x.c === 0) more.push(`m${i}`);
  }
  // legit: 4 units; a paid; b,c,d expired -> 3 back; e won one -> 2 left
  t.equal(more.length, 2, `only 2 more units to sell (sold ${more.length})`);
  t.ok(await persister().flush(10_000));
  const report = await reconcileEvent(app.redis, app.pool!, new EventStore(app.pool!), 'pr', false);
  t.same(report.problems, [], 'reconcile clean');
  const [[c]] = await app.pool!.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM order_conflicts');
  t.equal(Number(c?.n), 0, 'no conflicts');
  t.equal(await app.redis.hget(k.meta, 'unpersisted'), '0');
});
