import fs from 'node:fs';
import t from 'tap';
import { ADMIN, buy, putEvent, SECRET } from './helpers/app';
import { crowd } from './helpers/crowd';
import { scrape } from './helpers/metrics';
import { spawnServer } from './helpers/process';
import { tempDir, testRedis } from './helpers/services';
import { until } from './helpers/wait';
import { buyAlone, healthz, logLines, twoWorkers, workerPids } from './helpers/workers';
import { freePort } from '../src/server/workers';
import { isAlive as alive } from '../src/services/local-service';

/** Workers dying (SIGKILL of a worker or of the primary, a worker failing to start, MySQL stalled meanwhile): every answer true, nothing left over. */

t.test('a worker that keeps failing to start: one restart at a time, with a growing wait, and no process left over', async (t) => {
  const redis = await testRedis(t);
  const s = await twoWorkers(t, { REDIS_URL: redis.socket });
  t.equal((await putEvent(s.base, 'bk', { stock: 10 })).status, 201);
  // Redis's socket moved away: a restarted worker cannot connect and exits at start; the connections made go on.
  const away = `${redis.socket}.away`;
  fs.renameSync(redis.socket, away);
  t.teardown(() => fs.existsSync(away) && fs.renameSync(away, redis.socket));
  const [victim, survivor] = workerPids(s);
  process.kill(victim!, 'SIGKILL');
  const most: number[] = [];
  const watchFrom = Date.now();
  while (Date.now() - watchFrom < 12_000) {
    most.push(workerPids(s).length);
    await new Promise((r) => setTimeout(r, 50));
  }
  const failed = logLines(s, /worker failed to start/);
  t.comment(`in 12 s: ${failed} failed starts, at most ${Math.max(...most)} worker processes at once`);
  // 0.8 s, then 1.6, 3.2, 5, 5: five attempts at most in 12 s (each also takes its own start time).
  t.ok(failed >= 2 && failed <= 5, `restarts back off (${failed} failed starts in 12 s)`);
  t.ok(Math.max(...most) <= 2, `never more than two worker processes (${Math.max(...most)})`);
  t.ok(workerPids(s).includes(survivor!), 'the other worker serves on');
  t.equal((await buy(s.base, 'bk', 'during')).c, 0, 'the server sells meanwhile');

  fs.renameSync(away, redis.socket);
  await until(() => /worker restarted/.test(s.output()), 'the worker comes back once Redis can be reached again', 10_000, 50);
  await new Promise((r) => setTimeout(r, 6_000));
  t.equal(workerPids(s).length, 2, 'two worker processes, no more');
  t.equal(logLines(s, /"msg":"worker restarted"/), 1, 'restarted once');
  s.child.kill('SIGTERM');
  t.equal(await s.exited, 0, 'a clean stop');
});

t.test('a worker killed while MySQL is stalled comes back at once: buys do not need MySQL', async (t) => {
  const dir = tempDir(t);
  const s = await spawnServer(t, { SECKILL_DATA_DIR: dir, SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, SECKILL_WORKERS: '2', SECKILL_MYSQL_TIMEOUT_MS: '1000' });
  t.equal((await putEvent(s.base, 'ms', { stock: 100 })).status, 201);
  const mariadbd = Number(fs.readFileSync(`${dir}/mariadb/mysqld.pid`, 'utf8'));
  process.kill(mariadbd, 'SIGSTOP');
  t.teardown(() => {
    try {
      process.kill(mariadbd, 'SIGCONT');
    } catch {
      // gone
    }
  });
  const [victim] = workerPids(s);
  process.kill(victim!, 'SIGKILL');
  const killedAt = Date.now();
  await until(() => /worker restarted/.test(s.output()), 'the worker is restarted while MySQL is stalled', 8_000, 20);
  t.comment(`restarted ${Date.now() - killedAt} ms after the kill; ${logLines(s, /worker failed to start/)} failed start(s)`);
  t.equal(logLines(s, /worker failed to start/), 0, 'its start did not wait on MySQL');
  t.equal(workerPids(s).length, 2);
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => buy(s.base, 'ms', `m${i}`, { headers: { connection: 'close' } })));
  t.ok(answers.every((a) => a.c === 0), 'both workers sell through the MySQL stall');
  process.kill(mariadbd, 'SIGCONT');
  s.child.kill('SIGTERM');
  t.equal(await s.exited, 0, 'a clean stop once MySQL answers again');
});

t.test('a worker killed with SIGKILL while it holds parked requests: every client answered or closed, exact stock, winners known everywhere', async (t) => {
  const timeoutMs = 3_000;
  const s = await twoWorkers(t, { SECKILL_QUEUE_RATE: '40', SECKILL_QUEUE_BURST: '2', SECKILL_QUEUE_TIMEOUT_MS: String(timeoutMs) });
  const stock = 30;
  t.equal((await putEvent(s.base, 'pk', { stock })).status, 201);
  const users = Array.from({ length: 160 }, (_, i) => `p${i}`);
  const first = Promise.all(users.map((u) => buyAlone(s.port, 'pk', u)));
  // Each worker lets 20 a second through: most of the 160 are parked when the kill lands.
  await new Promise((r) => setTimeout(r, 400));
  const [victim] = workerPids(s);
  process.kill(victim!, 'SIGKILL');
  const told = await first;
  const closed = told.filter((x) => x.error !== undefined);
  const slowest = Math.max(...told.map((x) => x.ms));
  t.comment(`${closed.length} connections closed by the kill (${[...new Set(closed.map((x) => x.error))].join(', ')}), ${told.length - closed.length} answered; slowest ${slowest} ms`);
  t.ok(closed.length > 0, 'the kill closed the connections of the parked requests it held');
  t.ok(slowest < timeoutMs + 2_000, 'no client waited past the deadline');

  // The clients retry until they hear something final (a real client retries a closed connection, 5, 6 and 10).
  const final = told.filter((x) => x.c !== undefined && ![5, 6, 10].includes(x.c));
  const again = await crowd([s.base], 'pk', users.filter((u) => !final.some((x) => x.user === u)), { concurrency: 20 });
  const orderOf = new Map<string, number>();
  for (const x of [...final.map((f) => ({ user: f.user, code: f.c!, order: f.o ?? 0 })), ...again]) {
    if (x.code !== 0 && x.code !== 2) continue;
    if (orderOf.has(x.user) && orderOf.get(x.user) !== x.order) t.fail(`${x.user} told two order numbers`);
    orderOf.set(x.user, x.order);
  }
  t.equal(orderOf.size, stock, 'exactly the stock sold, to distinct users');
  t.same([...orderOf.values()].sort((a, b) => a - b), Array.from({ length: stock }, (_, i) => i + 1), 'order numbers 1..stock, each once');

  await until(() => /worker restarted/.test(s.output()), 'the worker is restarted', 10_000, 20);
  t.equal(workerPids(s).length, 2, 'two workers again');
  // Every winner's repeat click, on fresh connections (the kernel spreads them over both workers): 2 with its order.
  const repeats = await Promise.all([...orderOf].flatMap(([u]) => Array.from({ length: 4 }, () => buyAlone(s.port, 'pk', u))));
  const wrong = repeats.filter((x) => x.c !== 2 || x.o !== orderOf.get(x.user));
  t.same(wrong, [], 'every repeat click of a winner: already bought, with its order');
  const losers = await Promise.all(users.filter((u) => !orderOf.has(u)).slice(0, 20).map((u) => buyAlone(s.port, 'pk', u)));
  t.ok(losers.every((x) => x.c === 1), 'the others: sold out');
  t.equal((await healthz(s.base)).workers?.restarts, 1, '/healthz counts the restart');
  t.equal((await scrape(s.base, ADMIN))('seckill_worker_restarts_total'), 1, '/metrics counts it');
  s.child.kill('SIGTERM');
  t.equal(await s.exited, 0, 'a clean stop');
});

t.test('the primary killed with SIGKILL: its workers go and free the port; a new server on the folder sells the same sale', async (t) => {
  const dir = tempDir(t);
  const port = await freePort('127.0.0.1');
  const env = { SECKILL_DATA_DIR: dir, SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, SECKILL_WORKERS: '2', PORT: String(port) };
  const a = await spawnServer(t, env);
  t.equal((await putEvent(a.base, 'pk2', { stock: 40 })).status, 201);
  const first = await Promise.all(Array.from({ length: 25 }, (_, i) => buyAlone(port, 'pk2', `k${i}`)));
  t.ok(first.every((x) => x.c === 0), '25 won');
  const workers = workerPids(a);
  t.equal(workers.length, 2);
  a.child.kill('SIGKILL');
  const killedAt = Date.now();
  // Each worker stops listening at once, then answers what it holds and exits.
  await until(async () => (await buyAlone(port, 'pk2', 'k0')).error === 'ECONNREFUSED', 'the port is free', 10_000, 10);
  const free = Date.now() - killedAt;
  await until(() => workers.every((pid) => !alive(pid)), 'the workers exit', 10_000, 10);
  t.comment(`port free ${free} ms after the primary was killed; workers gone after ${Date.now() - killedAt} ms`);
  t.ok(free < 1_000, 'the port is free promptly');

  const b = await spawnServer(t, env);
  t.equal(b.port, port, 'the new server has the port');
  const repeats = await Promise.all(first.flatMap((x) => Array.from({ length: 3 }, () => buyAlone(port, 'pk2', x.user))));
  t.ok(repeats.every((x, i) => x.c === 2 && x.o === first[Math.floor(i / 3)]!.o), 'winners: already bought, with their order, on every worker');
  const rest = await Promise.all(Array.from({ length: 30 }, (_, i) => buyAlone(port, 'pk2', `n${i}`)));
  t.equal(rest.filter((x) => x.c === 0).length, 15, 'the other 15 units sell');
  t.equal(rest.filter((x) => x.c === 1).length, 15, 'then sold out');
  b.child.kill('SIGTERM');
  t.equal(await b.exited, 0, 'a clean stop');
});
