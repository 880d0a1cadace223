import path from 'node:path';
import t, { type Test } from 'tap';
import Redis from 'ioredis';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { mintToken } from '../src/auth/jwt';
import { LOCAL_DATABASE } from '../src/orders/mysql';
import { eventKeys } from '../src/redis/keys';
import { buy, defineScripts, payOrder, putEvent, resetEvent, ResetEventResult } from '../src/redis/scripts';
import { mariadbSocket } from '../src/services/mariadb-server';
import { readDevSecrets } from '../src/services/secrets';
import { spawnServer, type ServerProcess } from './helpers/process';
import { tempDir, testRedis } from './helpers/services';
import { until } from './helpers/wait';

const HOUR = 3_600_000;

/** The demo banner (printed once the demo sale is set up); fails if the server exits first. */
function banner(server: ServerProcess): Promise<string> {
  return Promise.race([
    new Promise<string>((resolve) => {
      const look = (): void => (/curl -s -X POST/.test(server.output()) ? resolve(server.output()) : void server.child.stdout!.once('data', look));
      look();
    }),
    server.exited.then((code) => {
      throw new Error(`server exited (${code}) before its banner:\n${server.output()}`);
    }),
  ]);
}

async function demoRedis(t: Test, dataDir: string): Promise<Redis> {
  const redis = new Redis({ path: path.join(dataDir, 'redis', 'redis.sock'), lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  t.teardown(() => redis.disconnect());
  return redis;
}

async function demoMysql(t: Test, dataDir: string): Promise<mysql.Connection> {
  const db = await mysql.createConnection({ socketPath: mariadbSocket(dataDir), user: 'root', database: LOCAL_DATABASE });
  t.teardown(() => db.end().catch(() => undefined));
  return db;
}

async function storedOrders(db: mysql.Connection): Promise<string[]> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT user_id, order_no FROM orders WHERE event_id = 'demo' ORDER BY order_no");
  return rows.map((r) => `${String(r.user_id)}:${Number(r.order_no)}`);
}

/**
 * A demo sale that sold three units, then ended (an hour passed: told to
 * Redis, and to MySQL when there is one), then a restart of `serve --demo`.
 */
async function endedDemo(t: Test, withMysql: boolean): Promise<{ server: ServerProcess; dataDir: string; buy: (user: string) => Promise<unknown> }> {
  const dataDir = tempDir(t);
  const env = { SECKILL_DATA_DIR: dataDir, SECKILL_JWT_SECRET: '', SECKILL_ADMIN_TOKEN: '', REDIS_URL: '', MYSQL_URL: withMysql ? '' : 'none' };
  let server = await spawnServer(t, env, ['serve', '--demo']);
  await banner(server);
  const secrets = readDevSecrets(dataDir)!;
  const buy = async (user: string): Promise<unknown> => {
    const res = await fetch(`${server.base}/events/demo/buy`, { method: 'POST', headers: { authorization: `Bearer ${mintToken(secrets.jwtSecret, user, HOUR)}` } });
    return { status: res.status, body: await res.json() };
  };
  for (const [i, user] of ['alice', 'bob', 'carol'].entries()) t.same(await buy(user), { status: 200, body: { c: 0, o: i + 1 } });

  const redis = await demoRedis(t, dataDir);
  const [start, end] = [Date.now() - 2 * HOUR, Date.now() - HOUR];
  await redis.hset(eventKeys('demo').meta, 'start', start, 'end', end);
  redis.disconnect();
  if (withMysql) {
    const db = await demoMysql(t, dataDir);
    await until(async () => (await storedOrders(db)).length === 3, 'the three orders stored', 10_000, 50);
    await db.query("UPDATE events SET start_ms = ?, end_ms = ? WHERE id = 'demo'", [start, end]);
    await db.end();
  }
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);

  server = await spawnServer(t, env, ['serve', '--demo']);
  t.match(await banner(server), /"demo" \(100 units, open until/, 'the banner tells of a new sale');
  const admin = { headers: { authorization: `Bearer ${secrets.adminToken}` } };
  t.match(await (await fetch(`${server.base}/admin/events/demo`, admin)).json(), { stock: 100, remaining: 100, sold: 0, buyers: 0, state: 'open' });
  return { server, dataDir, buy };
}

t.test('serve --demo after the ended demo sale, no MySQL: a new sale, not 10 for every buy', async (t) => {
  const { buy, dataDir } = await endedDemo(t, false);
  t.same(await buy('bob'), { status: 200, body: { c: 0, o: 1 } }, 'a buyer of the ended sale buys again; order numbers from 1');
  t.same(await buy('dave'), { status: 200, body: { c: 0, o: 2 } });
  t.same(await buy('bob'), { status: 200, body: { c: 2, o: 1 } });
  const redis = await demoRedis(t, dataDir);
  t.equal(await redis.get(eventKeys('demo').seq), '2', 'the counter started again');
});

t.test('serve --demo after the ended demo sale, local MySQL: a new sale, and MySQL cannot bring the old one back', async (t) => {
  const { buy, dataDir } = await endedDemo(t, true);
  t.same(await buy('bob'), { status: 200, body: { c: 0, o: 1 } }, 'a buyer of the ended sale buys again; order numbers from 1');
  t.same(await buy('dave'), { status: 200, body: { c: 0, o: 2 } });
  t.same(await buy('bob'), { status: 200, body: { c: 2, o: 1 } });

  const db = await demoMysql(t, dataDir);
  await until(async () => (await storedOrders(db)).length === 2, 'the new orders stored', 10_000, 50);
  t.same(await storedOrders(db), ['bob:1', 'dave:2'], 'MySQL holds the new sale\'s orders only');
  const [conflicts] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM order_conflicts WHERE event_id = 'demo'");
  t.equal(Number(conflicts[0]?.n), 0, 'no order of the new sale collided with one of the old');
  const [[row]] = await db.query<RowDataPacket[]>("SELECT end_ms FROM events WHERE id = 'demo'");
  t.ok(Number(row?.end_ms) > Date.now(), 'MySQL holds the new definition');

  // Redis loses part of the event: the restore from MySQL brings back the new sale, not the old one.
  const redis = await demoRedis(t, dataDir);
  await redis.del(eventKeys('demo').stock);
  await until(async () => {
    const r = (await buy('erin')) as { body: { c: number } };
    return r.body.c !== 10 && r.body.c !== 7;
  }, 'the event restored', 15_000, 50);
  t.same(await buy('alice'), { status: 200, body: { c: 0, o: 4 } }, 'a buyer of the old sale only is no buyer of the restored one');
  t.same(await buy('bob'), { status: 200, body: { c: 2, o: 1 } });
  t.equal(await redis.get(eventKeys('demo').stock), '96');
});

t.test('resetEvent-9: an ended sale loses every key and starts whole; an open or restoring one is refused', async (t) => {
  const local = await testRedis(t);
  const redis = new Redis({ path: local.socket });
  defineScripts(redis);
  t.teardown(() => redis.quit());
  const now = Date.now();
  const k = eventKeys('e');
  await putEvent(redis, k, { stock: 5, start: now - 1_000, end: now + HOUR, name: 'open', payWithin: 60 });
  t.same([...(await buy(redis, k, ['a', 'b', 'c'])).codes], [0, 0, 0]);
  t.equal((await payOrder(redis, k, 1)).code, 0);
  const fresh = { stock: 7, start: now, end: now + HOUR, name: 'again' };
  t.same(await resetEvent(redis, k, fresh), { result: ResetEventResult.Open, remaining: 2 }, 'open: refused');
  t.equal(await redis.hlen(k.buyers), 3, 'and nothing changed');

  await redis.hset(k.meta, 'lease', now + 60_000);
  t.same(await resetEvent(redis, k, fresh), { result: ResetEventResult.Restoring, remaining: 2 }, 'a live restore lease: refused');
  await redis.hdel(k.meta, 'lease');

  await redis.hset(k.meta, 'end', now - 1);
  t.same(await resetEvent(redis, k, fresh), { result: ResetEventResult.Reset, remaining: 7 });
  for (const key of [k.buyers, k.orders, k.due, k.owners, k.paid, k.expired]) t.equal(await redis.exists(key), 0, `${key} deleted`);
  const { incarnation, ...meta } = await redis.hgetall(k.meta);
  t.same(meta, { stock: '7', start: String(now), end: String(now + HOUR), name: 'again', payWithin: '0' }, 'meta: the new definition only');
  t.match(incarnation, /^\d{16}$/, 'and a new incarnation: every process forgets the old sale\'s winners');
  t.equal(await redis.get(k.seq), '0');
  const r = await buy(redis, k, ['b', 'd']);
  t.same([...r.codes], [0, 0], 'a buyer of the old sale wins in the new one');
  t.same([...r.orders], [1, 2]);

  const absent = eventKeys('absent');
  t.same(await resetEvent(redis, absent, fresh), { result: ResetEventResult.Reset, remaining: 7 }, 'an absent event is created');
});
