import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import t from 'tap';
import { eventKeys } from '../src/redis/keys';
import { buy as buyScript, defineScripts, dropIdleConsumers, putEvent as putScript, restoreBegin, RestoreBegin, restoreChunk, restoreEnd } from '../src/redis/scripts';
import { PutEventResult } from '../src/sale';
import { Persister } from '../src/orders/persister';
import { ADMIN, buy, count, openEvent, putEvent, testApp } from './helpers/app';
import { scrape } from './helpers/metrics';
import { CLI } from './helpers/process';
import { testMysql, testRedis } from './helpers/services';
import { until } from './helpers/wait';

t.test('restore scripts, branch by branch', async (t) => {
  const local = await testRedis(t);
  const redis = new Redis({ path: local.socket });
  defineScripts(redis);
  t.teardown(() => redis.quit());
  const now = Date.now();
  const def = { stock: 10, start: now - 60_000, end: now + 3_600_000, name: 'r' };
  const k = eventKeys('r');

  t.equal(await restoreBegin(redis, k, def, 'tok', 60_000), RestoreBegin.Started, 'an absent event: the restore starts');
  t.equal(await restoreBegin(redis, k, def, 'other', 60_000), RestoreBegin.Busy, 'a second restorer is told another one holds it');
  t.same([...(await buyScript(redis, k, ['x'])).codes], [10], 'a buy while restoring answers 10');
  t.equal((await buyScript(redis, k, ['x'])).remaining, -1, 'with no count to re-sync to');
  t.equal(await redis.hlen(k.buyers), 0, 'and grants nothing');
  t.match(await putScript(redis, k, def), { result: PutEventResult.Restoring, remaining: -1 }, 'putEvent refuses to touch it');
  t.notOk(await restoreChunk(redis, k, 'other', 60_000, ['a', 1, 0, '']), 'a chunk with another token is refused');
  t.ok(await restoreChunk(redis, k, 'tok', 60_000, ['a', 1, 0, '', 'b', 2, 0, '', 'c', 7, 0, '']), 'a chunk is written');
  t.equal(await restoreEnd(redis, k, 'other'), -1, 'the end with another token is refused');
  t.equal(await restoreEnd(redis, k, 'tok'), 7, 'the end: stock less the restored buyers');
  t.equal(await redis.get(k.seq), '7', 'the counter is at the highest number restored');
  const after = await buyScript(redis, k, ['b', 'd']);
  t.same([...after.codes, ...after.orders], [2, 0, 2, 8], 'a restored buyer is remembered; the next number is 8');
  t.equal(await restoreBegin(redis, k, def, 'late', 60_000), RestoreBegin.Present, 'a present event is not restored again');

  const lapsed = eventKeys('lapsed');
  t.equal(await restoreBegin(redis, lapsed, def, 'dead', 1), RestoreBegin.Started);
  await until(async () => (await buyScript(redis, lapsed, ['x'])).codes[0] === 7, 'the lease runs out');
  t.pass('a restore whose lease ran out answers 7: restore it again');
  t.equal(await restoreBegin(redis, lapsed, def, 'taker', 60_000), RestoreBegin.Started, 'and another restorer takes over');
  t.notOk(await restoreChunk(redis, lapsed, 'dead', 60_000, ['z', 1, 0, '']), 'the dead restorer can no longer write');
  t.equal(await restoreEnd(redis, lapsed, 'taker'), 10);

  const big = eventKeys('big');
  t.equal(await restoreBegin(redis, big, { ...def, stock: 20_000 }, 'b', 60_000), RestoreBegin.Started);
  const pairs: (string | number)[] = [];
  for (let i = 1; i <= 5_000; i++) pairs.push(`u${i}`, i, 0, '');
  t.ok(await restoreChunk(redis, big, 'b', 60_000, pairs), 'a 5,000-order chunk fits in one call');
  t.equal(await restoreEnd(redis, big, 'b'), 15_000);
});

t.test('an identical PUT after Redis lost the event restores the sale; it does not reset it', async (t) => {
  const db = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: db.url, eventRefreshMs: 3_600_000, persistWaitMs: 10 });
  const now = Date.now();
  const def = { stock: 100, start: now - 1000, end: now + 3_600_000 };
  t.equal((await putEvent(app.base, 'same', def)).status, 201);
  const first = await Promise.all(Array.from({ length: 50 }, (_, i) => buy(app.base, 'same', `s${i}`)));
  t.equal(count(first, (a) => a.c === 0), 50);
  await until(() => app.persister!.persisted >= 50, 'the 50 orders are in MySQL');
  await app.redis.flushall();
  const again = await putEvent(app.base, 'same', def);
  const body = (await again.json()) as { result: string; remaining: number };
  t.equal(again.status, 200, 'not 201 "created"');
  t.match(body, { result: 'unchanged', remaining: 50 }, 'the sale as it was');
  t.equal(await app.redis.hlen('sk:{same}:buyers'), 50, 'its buyers are back');
  t.same(await buy(app.base, 'same', 's7'), { status: 200, c: 2, o: first[7]!.o }, 'an earlier winner is still a winner');
  t.same(await buy(app.base, 'same', 'new'), { status: 200, c: 0, o: 51 }, 'numbers carry on after the highest stored');
});

t.test('a buy answered 7 for a known event: 10, no local "sold out", and the restore runs', async (t) => {
  const db = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: db.url, eventRefreshMs: 3_600_000, persistWaitMs: 10 });
  await openEvent(t, app.base, 'seven', 5);
  t.equal((await buy(app.base, 'seven', 'a')).c, 0);
  await until(() => app.persister!.persisted >= 1, 'persisted');
  await app.redis.flushall();
  const lost = await buy(app.base, 'seven', 'b');
  t.same(lost, { status: 503, c: 10 }, 'the first buy after the loss: 10 (retry)');
  t.equal(app.catalog.get('seven')!.remaining, 4, 'the local estimate was left alone');
  await until(async () => (await app.redis.get('sk:{seven}:stock')) === '4', 'restored from MySQL');
  t.same(await buy(app.base, 'seven', 'b'), { status: 200, c: 0, o: 2 }, 'then the sale goes on');
});

t.test('without MySQL, an event Redis lost answers 10, never "sold out", until it is put again', async (t) => {
  const app = await testApp(t, { eventRefreshMs: 3_600_000 });
  await openEvent(t, app.base, 'gone', 3);
  await app.redis.flushall();
  // One at a time: concurrent ones past the 3 units would be "sold out" by their reservations, as designed.
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await buy(app.base, 'gone', `g${i}`));
  t.same(answers.map((a) => a.c), [10, 10, 10, 10, 10]);
  t.equal(app.catalog.get('gone')!.remaining, 3, 'the local estimate was left alone');
  t.equal((await putEvent(app.base, 'gone', { stock: 3 })).status, 201, 'put again: created afresh');
  t.equal((await buy(app.base, 'gone', 'g0')).c, 0);
});

t.test('a persister conflict is kept, counted, reported by reconcile (exit 1), never silently dropped', async (t) => {
  const db = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: db.url, persistWaitMs: 10 });
  await openEvent(t, app.base, 'clash', 10);
  // MySQL already holds order 3 for someone Redis does not know: what a lost Redis leaves behind.
  await app.pool!.query("INSERT INTO orders (event_id, order_no, user_id, created) VALUES ('clash', 3, 'intruder', NOW(3))");
  const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => buy(app.base, 'clash', `c${i}`)));
  t.equal(count(answers, (a) => a.c === 0), 5);
  const third = answers.findIndex((a) => a.o === 3);
  await until(async () => (await app.redis.xlen('sk:{clash}:orders')) === 0, 'the stream drained');
  const [kept] = await app.pool!.query<RowDataPacket[]>("SELECT order_no, user_id, reason FROM order_conflicts WHERE event_id = 'clash'");
  t.same(kept.map((r) => [Number(r.order_no), r.user_id]), [[3, `c${third}`]], 'the refused win is kept in order_conflicts');
  t.match(String(kept[0]?.reason), /order 3 is stored for user intruder/);
  const [[n]] = await app.pool!.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM orders WHERE event_id = 'clash'");
  t.equal(Number(n?.n), 5, 'the four others are stored, and the intruder stays');
  t.equal((await scrape(app.base, ADMIN))('seckill_order_conflicts_total'), 1, 'counted in a metric');
  const child = spawn(process.execPath, [CLI, 'reconcile', 'clash'], { env: { ...process.env, REDIS_URL: app.redisSocket, MYSQL_URL: db.url }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  t.equal(code, 1, 'reconcile exits 1 while a conflict is kept');
  t.match(out, /1 conflicting order\(s\) kept in order_conflicts/);
  t.match(out, new RegExp(`conflict: order 3 for c${third}`));
});

t.test('persister consumers: a stable name takes its own pending entries back at once; idle empty ones are deleted', async (t) => {
  const db = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: db.url, persister: false });
  await openEvent(t, app.base, 'hyg', 20);
  await Promise.all(Array.from({ length: 20 }, (_, i) => buy(app.base, 'hyg', `h${i}`)));
  const k = eventKeys('hyg');
  // A consumer that read entries and died before storing them, and two left idle by old restarts.
  await app.redis.xgroup('CREATE', k.orders, 'persister', '0');
  await app.redis.xreadgroup('GROUP', 'persister', 'me', 'COUNT', 5, 'STREAMS', k.orders, '>');
  await app.redis.xgroup('CREATECONSUMER', k.orders, 'persister', 'old-1');
  await app.redis.xgroup('CREATECONSUMER', k.orders, 'persister', 'old-2');
  const options = { batch: 100, waitMs: 10, claimIdleMs: 600_000, consumer: 'me' };
  const p = new Persister(app.redis, app.pool!, () => app.catalog.all(), options);
  p.start();
  t.teardown(() => p.stop());
  await until(() => p.persisted === 20, 'all 20 stored without waiting out the 10-minute claim timeout');
  await p.stop();
  const names = async (): Promise<string[]> =>
    ((await app.redis.xinfo('CONSUMERS', k.orders, 'persister')) as string[][]).map((c) => String(c[c.indexOf('name') + 1])).sort();
  t.same(await names(), ['me', 'old-1', 'old-2'], 'idle ones are kept while younger than the claim timeout');
  const sweeper = new Persister(app.redis, app.pool!, () => app.catalog.all(), { ...options, claimIdleMs: 100 });
  await new Promise((r) => setTimeout(r, 150)); // the idle time must pass: nothing to await
  sweeper.start();
  await until(async () => (await names()).length === 1, 'the idle empty consumers are deleted');
  await sweeper.stop();
  t.same(await names(), ['me'], 'only the live name is left');

  // The check and the delete are one script: a consumer holding entries is never deleted with them.
  await openEvent(t, app.base, 'hyg2', 1);
  await buy(app.base, 'hyg2', 'x');
  const k2 = eventKeys('hyg2');
  await app.redis.xgroup('CREATE', k2.orders, 'persister', '0');
  await app.redis.xreadgroup('GROUP', 'persister', 'holder', 'COUNT', 1, 'STREAMS', k2.orders, '>');
  await app.redis.xgroup('CREATECONSUMER', k2.orders, 'persister', 'empty');
  t.equal(await dropIdleConsumers(app.redis, k2, 'persister', 0, 'me'), 1, 'one deleted');
  const left = ((await app.redis.xinfo('CONSUMERS', k2.orders, 'persister')) as string[][]).map((c) => String(c[c.indexOf('name') + 1]));
  t.same(left, ['holder'], 'the one holding an entry is kept');
});
