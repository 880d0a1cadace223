import { spawn } from 'node:child_process';
import { once } from 'node:events';
import t from 'tap';
import type { RowDataPacket } from 'mysql2/promise';
import { connectMysql } from '../src/orders/mysql';
import { ADMIN, buy, count, openEvent, putEvent, SECRET, testApp, sellOut } from './helpers/app';
import { CLI, cli, spawnServer } from './helpers/process';
import { tempDir, testMysql } from './helpers/services';
import { until } from './helpers/wait';


t.test('persister killed with SIGKILL mid-run, restarted: every order exactly once', async (t) => {
  const db = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: db.url, persister: false });
  await sellOut(t, app, 'pk', 3000, 'u');
  // One stream entry (one buy batch of orders) per read, so a kill lands between commits.
  const env = { REDIS_URL: app.redisSocket, MYSQL_URL: db.url, SECKILL_PERSIST_BATCH: '1', SECKILL_PERSIST_CLAIM_MS: '600000', HOST: '127.0.0.1' };
  const count_ = async (): Promise<number> => {
    const [[r]] = await app.pool!.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM orders WHERE event_id = ?', ['pk']);
    return Number(r?.n);
  };
  const first = spawn(process.execPath, [CLI, 'persister'], { env: { ...process.env, ...env }, stdio: 'ignore' });
  const firstExit = once(first, 'exit');
  await until(async () => (await count_()) > 0, 'the persister started writing');
  first.kill('SIGKILL');
  await firstExit;
  const written = await count_();
  t.ok(written < 3000, `killed part way (${written} of 3000 written)`);
  const pending = (await app.redis.xpending('sk:{pk}:orders', 'persister')) as [number, ...unknown[]];
  t.comment(`entries left pending by the dead consumer: ${pending[0]}; the restarted one has its name and takes them back at once (the claim timeout is 10 min)`);

  const second = spawn(process.execPath, [CLI, 'persister'], { env: { ...process.env, ...env }, stdio: 'ignore' });
  t.teardown(() => {
    second.kill('SIGTERM');
  });
  await until(async () => (await count_()) === 3000, 'all 3000 written', 60_000);
  const [[r]] = await app.pool!.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n, COUNT(DISTINCT order_no) AS o, MIN(order_no) AS lo, MAX(order_no) AS hi FROM orders WHERE event_id = ?',
    ['pk'],
  );
  t.same([Number(r?.n), Number(r?.o), Number(r?.lo), Number(r?.hi)], [3000, 3000, 1, 3000], 'every order once, 1..3000');
  const exited = once(second, 'exit');
  second.kill('SIGTERM');
  t.equal((await exited)[0], 0, 'SIGTERM stops it cleanly');
  t.equal(await app.redis.xlen('sk:{pk}:orders'), 0, 'the stream is empty');
  t.equal(await app.redis.hget('sk:{pk}:meta', 'unpersisted'), '0', 'and counted empty: the entries the dead one had written were taken off once');
});

t.test('server killed with SIGKILL mid-sale: after restart, every user told "won" has a row', async (t) => {
  const dataDir = tempDir(t);
  const env = { SECKILL_DATA_DIR: dataDir, SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, SECKILL_PERSIST_CLAIM_MS: '300' };
  const a = await spawnServer(t, env);
  t.equal((await putEvent(a.base, 'crash', { stock: 2000 })).status, 201);
  const told = new Map<string, number>();
  let killed = false;
  const all = Array.from({ length: 3000 }, (_, i) =>
    buy(a.base, 'crash', `c${i}`).then(
      (x) => {
        if (x.c === 0) told.set(`c${i}`, x.o!);
        if (told.size >= 300 && !killed) {
          killed = true;
          a.child.kill('SIGKILL');
        }
      },
      () => undefined, // the connection died with the server
    ),
  );
  await Promise.all(all);
  t.ok(killed, 'killed mid-sale');
  await a.exited;
  t.ok(told.size >= 300, `${told.size} users were told "won" before the kill`);

  const b = await spawnServer(t, env);
  const pool = await connectMysql({ socket: `${dataDir}/mariadb/mysqld.sock` });
  t.teardown(() => pool.end());
  const stored = new Map<string, number>();
  await until(async () => {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT user_id, order_no FROM orders WHERE event_id = ?', ['crash']);
    for (const r of rows) stored.set(String(r.user_id), Number(r.order_no));
    return [...told.keys()].every((u) => stored.has(u));
  }, 'every winner persisted', 30_000, 50);
  t.ok([...told].every(([u, o]) => stored.get(u) === o), 'each with the order number it was told');
  const rec = await cli(['reconcile', 'crash'], env);
  t.equal(rec.code, 0, `reconcile is clean after the restart:\n${rec.out}`);
  b.child.kill('SIGTERM');
  t.equal(await b.exited, 0);
});

t.test('reconcile finds a deleted row and --repair mends it', async (t) => {
  const dataDir = tempDir(t);
  const env = { SECKILL_DATA_DIR: dataDir, SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN };
  const s = await spawnServer(t, env);
  t.equal((await putEvent(s.base, 'rec', { stock: 20 })).status, 201);
  await Promise.all(Array.from({ length: 30 }, (_, i) => buy(s.base, 'rec', `r${i}`)));
  const pool = await connectMysql({ socket: `${dataDir}/mariadb/mysqld.sock` });
  t.teardown(() => pool.end());
  await until(async () => {
    const [[r]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM orders');
    return Number(r?.n) === 20;
  }, 'all 20 persisted', 10_000, 20);
  t.equal((await cli(['reconcile'], env)).code, 0, 'clean to begin with');
  await pool.query('DELETE FROM orders WHERE event_id = ? AND order_no IN (3, 7)', ['rec']);
  const found = await cli(['reconcile', 'rec'], env);
  t.equal(found.code, 1, 'exits non-zero on a mismatch');
  t.match(found.out, /rec\s+20\s+0\s+20\s+0\s+18\s+18\s+2\s+0\s+0\s+MISMATCH/);
  t.match(found.out, /2 order\(s\) granted by Redis are in neither MySQL nor the stream/);
  const repaired = await cli(['reconcile', 'rec', '--repair'], env);
  t.equal(repaired.code, 0, `repaired:\n${repaired.out}`);
  t.match(repaired.out, /repair: wrote 2 order\(s\)/);
  const [[r]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM orders WHERE event_id = ?', ['rec']);
  t.equal(Number(r?.n), 20);
  t.equal((await cli(['reconcile', 'rec'], env)).code, 0, 'clean again');
  t.equal((await cli(['reconcile', 'bad.id'], env)).code, 1, 'a bad event id is refused');
});
