import type { RowDataPacket } from 'mysql2/promise';
import t from 'tap';
import { EventStore } from '../src/events/event-store';
import { connectMysql } from '../src/orders/mysql';
import { reconcileEvent } from '../src/orders/reconcile';
import { eventKeys } from '../src/redis/keys';
import { ADMIN, buy, putEvent, SECRET, testApp, token } from './helpers/app';
import { cli, spawnServer } from './helpers/process';
import { tempDir, testMysql } from './helpers/services';
import { exchange } from './helpers/raw';
import { until } from './helpers/wait';

const PAYER = 'test-payment-token';

interface OrderView {
  readonly status: number;
  readonly c: number;
  readonly o?: number;
  readonly s?: string;
  readonly p?: string;
  readonly d?: number;
}

async function orderOf(base: string, event: string, user: string): Promise<OrderView> {
  const res = await fetch(`${base}/events/${event}/order`, { headers: { authorization: `Bearer ${token(user)}` } });
  return { status: res.status, ...((await res.json()) as Omit<OrderView, 'status'>) };
}

/** `bearer` '' sends no authorization header. */
async function pay(base: string, event: string, order: number | string, bearer = PAYER): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}/events/${event}/orders/${order}/paid`, {
    method: 'POST',
    headers: bearer === '' ? {} : { authorization: `Bearer ${bearer}` },
  });
  return { status: res.status, body: await res.json() };
}

t.test('no payment: the unit expires, the next buyer wins it, the expired user is refused; paying answers', async (t) => {
  const app = await testApp(t, { paymentToken: PAYER });
  // A second server on the same Redis: it learns of returned units from its event refresh.
  const other = await testApp(t, { paymentToken: PAYER, redisUrl: app.redisSocket, eventRefreshMs: 100 });
  t.equal((await putEvent(app.base, 'x', { stock: 1, payWithin: 1 })).status, 201);
  await other.catalog.refresh();
  t.same(await buy(app.base, 'x', 'a'), { status: 200, c: 0, o: 1 }, 'a wins the only unit');
  const due = await orderOf(app.base, 'x', 'a');
  t.match(due, { status: 200, c: 0, o: 1, s: 'pending', p: 'due' }, 'the order is due');
  t.ok(typeof due.d === 'number' && due.d > Date.now() && due.d <= Date.now() + 1_100, 'with its deadline, payWithin from the win');
  t.same(await buy(app.base, 'x', 'b'), { status: 200, c: 1 }, 'b: sold out');
  await until(() => other.catalog.get('x')?.remaining === 0, 'the other server knows it is sold out');
  t.same(await buy(other.base, 'x', 'c'), { status: 200, c: 1 }, 'c, on the other server: sold out');

  await until(async () => (await orderOf(app.base, 'x', 'a')).p === 'expired', 'the order expires with no traffic', 5_000, 20);
  t.ok(Date.now() - (due.d ?? 0) < 1_000, 'within a second of the deadline');
  t.equal(app.catalog.get('x')?.remaining, 1, "this server's estimate learned of the returned unit");
  t.same(await buy(app.base, 'x', 'b'), { status: 200, c: 0, o: 2 }, 'b, told "sold out" before, wins it with a number above the stock');
  t.same(await buy(app.base, 'x', 'a'), { status: 200, c: 12, o: 1 }, 'a may not buy again: "expired" with the old order number');
  await until(() => other.catalog.get('x')?.expired.get('a') === 1, 'the other server learns of the expiry at its event refresh');
  t.same(await buy(other.base, 'x', 'a'), { status: 200, c: 12, o: 1 }, 'on the other server too, though it is sold out there');
  t.same(await pay(app.base, 'x', 1), { status: 409, body: { c: 12, o: 1, p: 'expired' } }, 'paying the expired order: 409, code 12');
  t.same(await pay(app.base, 'x', 2), { status: 200, body: { c: 0, o: 2, p: 'paid' } }, 'b pays');
  t.same(await pay(app.base, 'x', 2, ADMIN), { status: 200, body: { c: 0, o: 2, p: 'paid' } }, 'again, with the admin token: the same answer');
  t.match(await orderOf(app.base, 'x', 'b'), { c: 0, o: 2, p: 'paid' });
  t.same(await pay(app.base, 'x', 3), { status: 404, body: { c: 11 } }, 'no such order: 404, code 11');
  t.same(await pay(app.base, 'x', 2, ''), { status: 401, body: { c: 8 } }, 'no token: 401');
  t.same(await pay(app.base, 'x', 2, 'wrong'), { status: 401, body: { c: 8 } }, 'a wrong token: 401');
  t.same(await pay(app.base, 'x', 2, token('b')), { status: 401, body: { c: 8 } }, "a buyer's token: 401");
  t.same(await pay(app.base, 'x', '0'), { status: 400, body: { c: 9 } }, 'order 0: 400');
  t.same(await pay(app.base, 'x', 'abc'), { status: 400, body: { c: 9 } }, 'not a number: 400');
  t.same(await pay(app.base, 'nope', 1), { status: 404, body: { c: 7 } }, 'no such event: 404, code 7');
  const get = await fetch(`${app.base}/events/x/orders/2/paid`, { headers: { authorization: `Bearer ${PAYER}` } });
  t.equal(get.status, 405, 'GET: 405');
  t.equal(get.headers.get('allow'), 'POST');
  await get.arrayBuffer();
  const stats = (await (await fetch(`${app.base}/admin/events/x`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as Record<string, unknown>;
  t.match(stats, { payWithin: 1, remaining: 0, buyers: 2, payments: { due: 0, paid: 1, expired: 1 } }, 'admin stats show the payments');
});

t.test('pay before the deadline keeps the unit', async (t) => {
  const app = await testApp(t, { paymentToken: PAYER });
  t.equal((await putEvent(app.base, 'keep', { stock: 1, payWithin: 1 })).status, 201);
  t.same(await buy(app.base, 'keep', 'a'), { status: 200, c: 0, o: 1 });
  const { d } = await orderOf(app.base, 'keep', 'a');
  t.same(await pay(app.base, 'keep', 1), { status: 200, body: { c: 0, o: 1, p: 'paid' } });
  // Let the deadline pass and the sweeper run a few times: nothing may come back.
  const sweeps = app.sweeper.expired;
  await until(() => Date.now() > (d ?? 0) + 800, 'the deadline passed and sweeps ran', 5_000, 50);
  t.equal(app.sweeper.expired, sweeps, 'nothing expired');
  t.match(await orderOf(app.base, 'keep', 'a'), { c: 0, o: 1, p: 'paid' }, 'still paid');
  t.same(await buy(app.base, 'keep', 'b'), { status: 200, c: 1 }, 'no unit came back');
  t.same(await pay(app.base, 'keep', 1), { status: 200, body: { c: 0, o: 1, p: 'paid' } }, 'paying again past the deadline: still paid');
});

t.test('an event without payWithin answers as before', async (t) => {
  const app = await testApp(t, { paymentToken: PAYER });
  t.equal((await putEvent(app.base, 'plain', { stock: 1 })).status, 201);
  t.same(await buy(app.base, 'plain', 'a'), { status: 200, c: 0, o: 1 });
  t.same(await orderOf(app.base, 'plain', 'a'), { status: 200, c: 0, o: 1, s: 'pending' }, 'no "p" in the order query');
  t.same(await pay(app.base, 'plain', 1), { status: 404, body: { c: 11 } }, 'nothing to pay: the win is final');
  const bad = await putEvent(app.base, 'bad', { stock: 1, payWithin: -1 });
  t.equal(bad.status, 400, 'a negative payWithin is refused');
  t.match(await bad.json(), { c: 9, error: /payWithin must be a whole number of seconds/ });
});

t.test('MySQL follows: status rows, reconcile, and a restore after FLUSHALL keeps paid / expired / due', async (t) => {
  const db = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: db.url, paymentToken: PAYER, persistWaitMs: 10, eventRefreshMs: 3_600_000 });
  const def = { stock: 4, payWithin: 3600, start: Date.now() - 1000, end: Date.now() + 3_600_000 };
  t.equal((await putEvent(app.base, 'm', def)).status, 201);
  for (const [i, u] of ['a', 'b', 'c', 'd'].entries()) t.same(await buy(app.base, 'm', u), { status: 200, c: 0, o: i + 1 });
  t.equal((await pay(app.base, 'm', 1)).status, 200, 'a pays');
  // b and c do not pay: their deadlines are moved to the past (an hour is long for a test); the sweeper does the rest.
  const k = eventKeys('m');
  await app.redis.zadd(k.due, 'XX', 1, '2', 1, '3');
  await until(async () => (await orderOf(app.base, 'm', 'c')).p === 'expired', 'b and c expire');
  t.same(await buy(app.base, 'm', 'e'), { status: 200, c: 0, o: 5 }, 'e wins a returned unit');
  const dDeadline = Number(await app.redis.zscore(k.due, '4'));
  const rows = async (): Promise<RowDataPacket[]> =>
    (await app.pool!.query<RowDataPacket[]>('SELECT order_no, user_id, state FROM order_payments WHERE event_id = ? ORDER BY order_no', ['m']))[0];
  await until(async () => (await rows()).length === 3 && (await app.redis.xlen(k.orders)) === 0, 'the settlements are in MySQL');
  t.same((await rows()).map((r) => [r.order_no, r.user_id, r.state]), [[1, 'a', 'paid'], [2, 'b', 'expired'], [3, 'c', 'expired']]);
  const [orders] = await app.pool!.query<RowDataPacket[]>('SELECT order_no, pay_by_ms FROM orders WHERE event_id = ? ORDER BY order_no', ['m']);
  t.equal(orders.length, 5, 'every order, the expired ones too');
  t.equal(Number(orders[3]?.pay_by_ms), dDeadline, 'each with its deadline');
  const store = new EventStore(app.pool!);
  const before = await reconcileEvent(app.redis, app.pool!, store, 'm', false);
  t.same(before.problems, [], 'reconcile holds');
  t.match(before, { remaining: 1, due: 2, paid: 1, expired: 2, buyers: 5 });

  await app.redis.flushall();
  const again = await putEvent(app.base, 'm', def);
  t.equal(again.status, 200, 'the identical PUT restores the sale');
  t.match(await again.json(), { result: 'unchanged', remaining: 1 }, 'remaining: stock less due and paid, the expired units stay back in stock');
  t.match(await orderOf(app.base, 'm', 'a'), { o: 1, p: 'paid' }, 'paid is back');
  t.match(await orderOf(app.base, 'm', 'b'), { o: 2, p: 'expired' }, 'expired is back');
  t.match(await orderOf(app.base, 'm', 'd'), { o: 4, p: 'due', d: dDeadline }, 'due is back, with its deadline');
  t.same(await buy(app.base, 'm', 'c'), { status: 200, c: 12, o: 3 }, 'the expired user is still refused');
  t.same(await pay(app.base, 'm', 2), { status: 409, body: { c: 12, o: 2, p: 'expired' } });
  t.same(await pay(app.base, 'm', 1), { status: 200, body: { c: 0, o: 1, p: 'paid' } });
  t.same(await buy(app.base, 'm', 'f'), { status: 200, c: 0, o: 6 }, 'the one unit left sells, numbered on');
  t.same(await buy(app.base, 'm', 'g'), { status: 200, c: 1 }, 'and then it is sold out: nothing oversold');
  await until(async () => (await app.redis.xlen(k.orders)) === 0, 'persisted');
  const after = await reconcileEvent(app.redis, app.pool!, store, 'm', false);
  t.same(after.problems, [], 'reconcile holds after the restore');
  t.match(after, { remaining: 0, due: 3, paid: 1, expired: 2, buyers: 6 }, 'd, e and f due, a paid, b and c expired');

  // Reconcile catches a settlement MySQL lacks, and --repair writes it.
  await app.pool!.query('DELETE FROM order_payments WHERE event_id = ? AND order_no = 2', ['m']);
  const found = await reconcileEvent(app.redis, app.pool!, store, 'm', false);
  t.match(found.problems, [/MySQL has|1 payment state\(s\) set in Redis are in neither MySQL nor the stream/]);
  t.same((await reconcileEvent(app.redis, app.pool!, store, 'm', true)).problems, [], 'repaired');
});


t.test('server killed between the Redis expiry and MySQL: MySQL catches up after the restart', async (t) => {
  const dataDir = tempDir(t);
  const env = { SECKILL_DATA_DIR: dataDir, SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, SECKILL_PAYMENT_TOKEN: PAYER };
  // No persister in the first server: whatever it settles in Redis cannot have reached MySQL when it dies.
  const a = await spawnServer(t, { ...env, SECKILL_PERSISTER: 'false' });
  t.equal((await putEvent(a.base, 'kill', { stock: 2, payWithin: 1 })).status, 201);
  t.equal((await buy(a.base, 'kill', 'a')).c, 0);
  t.equal((await buy(a.base, 'kill', 'b')).c, 0);
  t.equal((await pay(a.base, 'kill', 1)).status, 200, 'a pays');
  await until(async () => (await orderOf(a.base, 'kill', 'b')).p === 'expired', "b's order expires in Redis", 5_000, 20);
  a.child.kill('SIGKILL');
  await a.exited;
  const pool = await connectMysql({ socket: `${dataDir}/mariadb/mysqld.sock` });
  t.teardown(() => pool.end());
  const settled = async (): Promise<unknown[]> =>
    (await pool.query<RowDataPacket[]>('SELECT order_no, state FROM order_payments WHERE event_id = ? ORDER BY order_no', ['kill']))[0].map((r) => [
      r.order_no,
      r.state,
    ]);
  t.same(await settled(), [], 'killed: MySQL has no settlement yet');

  const b = await spawnServer(t, env);
  await until(async () => (await settled()).length === 2, 'the restarted server persists them', 30_000, 50);
  t.same(await settled(), [[1, 'paid'], [2, 'expired']], 'paid and expired, once each');
  t.same(await buy(b.base, 'kill', 'b'), { status: 200, c: 12, o: 2 }, 'the expired user is still refused');
  t.same(await buy(b.base, 'kill', 'c'), { status: 200, c: 0, o: 3 }, 'the returned unit sells');
  await until(async () => {
    const [[r]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM orders WHERE event_id = ?', ['kill']);
    return Number(r?.n) === 3;
  }, 'every order in MySQL', 10_000, 20);
  const rec = await cli(['reconcile', 'kill'], env);
  t.equal(rec.code, 0, `reconcile is clean:\n${rec.out}`);
  // c's order is due for a second: on a busy machine it may have expired by now too.
  t.match(rec.out, /kill: payments: (due 1, paid 1, expired 1|due 0, paid 1, expired 2 \(back in stock\))/);
  b.child.kill('SIGTERM');
  t.equal(await b.exited, 0);
});

t.test('bytes on the wire: the order query with its payment state, and the payment answers', async (t) => {
  const app = await testApp(t, { paymentToken: PAYER });
  t.equal((await putEvent(app.base, 'b', { stock: 3, payWithin: 3600 })).status, 201);
  for (const u of ['a', 'b', 'c']) t.equal((await buy(app.base, 'b', u)).c, 0);
  await app.redis.zadd(eventKeys('b').due, 'XX', 1, '3');
  await until(async () => (await orderOf(app.base, 'b', 'c')).p === 'expired', 'order 3 expires');
  t.equal((await pay(app.base, 'b', 2)).status, 200);
  const size = async (request: string): Promise<number> => (await exchange(app.port, request)).length;
  const query = (user: string): string => `GET /events/b/order HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token(user)}\r\n\r\n`;
  const payment = (n: number): string => `POST /events/b/orders/${n}/paid HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${PAYER}\r\n\r\n`;
  // Order number 1 digit, deadline 13 digits, "s":"pending" (no MySQL here: "confirmed" is 2 bytes more);
  // each more digit of the order number is one byte more.
  t.equal(await size(query('a')), 131, 'order query, due with its deadline: 131 bytes');
  t.equal(await size(query('b')), 114, 'order query, paid: 114 bytes');
  t.equal(await size(query('c')), 117, 'order query, expired: 117 bytes');
  t.equal(await size(payment(2)), 100, 'payment 200 paid: 100 bytes');
  t.equal(await size(payment(3)), 102, 'payment 409 expired: 102 bytes');
  t.equal(await size(payment(9)), 81, 'payment 404 no order: 81 bytes');
});
