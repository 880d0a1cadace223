import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { connectMysql } from '../src/orders/mysql';
import { isAlive } from '../src/services/local-service';
import { ADMIN, buy, putEvent, SECRET, token } from './helpers/app';
import { freeze, spawnServer, type ServerProcess } from './helpers/process';
import { tempDir, testMysql } from './helpers/services';
import { until } from './helpers/wait';

/**
 * A MySQL that stops answering (mariadbd SIGSTOPped: a hung disk, a frozen
 * VM) must not hang anything outside the probes.
 */

t.test('MySQL stalled: every pool call fails in bounded time, more calls than connections included; the pool still ends', async (t) => {
  const db = await testMysql(t);
  const timeoutMs = 500;
  const pool = await connectMysql({ socket: db.socket }, timeoutMs);
  // Every connection of the pool made, idle, before the stall.
  await Promise.all(Array.from({ length: 8 }, () => pool.query('SELECT SLEEP(0.05)')));
  await freeze(db.pid);
  t.teardown(() => {
    if (isAlive(db.pid)) process.kill(db.pid, 'SIGCONT');
  });
  const t0 = Date.now();
  const calls = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      pool.query('SELECT ?', [i]).then(
        () => ({ ok: true, ms: Date.now() - t0, code: '' }),
        (err: { code?: string }) => ({ ok: false, ms: Date.now() - t0, code: err.code ?? '' }),
      ),
    ),
  );
  const slowest = Math.max(...calls.map((c) => c.ms));
  t.same(new Set(calls.map((c) => (c.ok ? 'ok' : c.code))), new Set(['ETIMEDOUT']), 'all 20 failed with ETIMEDOUT', { calls });
  // 8 connections: the 20 calls go in three waves, each bounded by the timeout (a dropped connection frees its place).
  t.ok(slowest < 6 * timeoutMs, `the last failed after ${slowest} ms (timeout ${timeoutMs} ms)`);
  const ending = Date.now();
  await pool.end().catch(() => undefined);
  t.ok(Date.now() - ending < 4 * timeoutMs, `pool.end() finished in ${Date.now() - ending} ms`);
});

interface Services {
  readonly 'redis-server': number;
  readonly mariadbd: number;
}

function servicesOf(dataDir: string): Services {
  const pid = (file: string): number => Number.parseInt(fs.readFileSync(path.join(dataDir, file), 'utf8'), 10);
  return { 'redis-server': pid('redis/redis.pid'), mariadbd: pid('mariadb/mysqld.pid') };
}

/** A server on its own local redis-server and mariadbd, a won order stored in MySQL, then mariadbd stopped. */
async function stalled(t: Test, env: Record<string, string> = {}): Promise<{ s: ServerProcess; pids: Services }> {
  const dataDir = tempDir(t);
  const s = await spawnServer(t, { SECKILL_DATA_DIR: dataDir, SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, REDIS_URL: '', MYSQL_URL: '', ...env });
  const pids = servicesOf(dataDir);
  // Teardowns run last-in first-out: mariadbd runs again before spawnServer's teardown stops a server still running.
  t.teardown(() => {
    for (const pid of Object.values(pids)) if (isAlive(pid)) process.kill(pid, 'SIGCONT');
  });
  t.equal((await putEvent(s.base, 'st', { stock: 100 })).status, 201);
  t.equal((await buy(s.base, 'st', 'before')).c, 0, 'a win before the stall');
  await until(async () => (await order(s, 'before')).body.s === 'confirmed', 'the win stored in MySQL', 10_000, 50);
  await freeze(pids.mariadbd);
  return { s, pids };
}

async function order(s: ServerProcess, user: string): Promise<{ ms: number; body: { c?: number; o?: number; s?: string } }> {
  const t0 = Date.now();
  try {
    // Given up on after 15 s, so a hang fails the test instead of stalling it.
    const res = await fetch(`${s.base}/events/st/order`, { headers: { authorization: `Bearer ${token(user)}` }, signal: AbortSignal.timeout(15_000) });
    return { ms: Date.now() - t0, body: (await res.json()) as { c?: number; o?: number; s?: string } };
  } catch {
    return { ms: Date.now() - t0, body: {} };
  }
}

t.test('MySQL stalled: order queries answer within about a second, more at once than the pool has connections too', async (t) => {
  const { s } = await stalled(t);
  const first = await order(s, 'before');
  t.ok(first.ms < 3_000, `the winner's order query answered in ${first.ms} ms`);
  t.equal(first.body.o, 1, 'with its order, from Redis');
  t.equal((await buy(s.base, 'st', 'during')).c, 0, 'buys still win: MySQL is not on their path');
  // More at once than the pool has connections: none waits behind another's stalled query.
  const many = await Promise.all(Array.from({ length: 20 }, () => order(s, 'during')));
  const slowest = Math.max(...many.map((a) => a.ms));
  t.ok(slowest < 3_000, `20 order queries at once all answered, the slowest in ${slowest} ms`);
  t.ok(many.every((a) => a.body.o === 2 && a.body.s === 'pending'), 'each with its order, pending (not stored yet)');
});

/** Resolves with the exit code, or 'still running' once `ms` have passed. */
function exitWithin(s: ServerProcess, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([s.exited, new Promise<string>((r) => (timer = setTimeout(() => r('still running'), ms)))]).finally(() => clearTimeout(timer));
}

t.test('MySQL stalled: SIGTERM ends the server at its stop deadline, local services and all', async (t) => {
  const { s, pids } = await stalled(t, { SECKILL_STOP_TIMEOUT_MS: '3000' });
  t.equal((await buy(s.base, 'st', 'during')).c, 0, 'a win the persister cannot store');
  const t0 = Date.now();
  s.child.kill('SIGTERM');
  const code = await exitWithin(s, 15_000);
  const ms = Date.now() - t0;
  t.not(code, 'still running', `the server exited, ${ms} ms after SIGTERM`);
  t.not(code, 0, 'non-zero: the stop did not finish by itself');
  t.ok(ms >= 3_000, 'not before the deadline');
  t.match(s.output(), /"unpersisted":\{"st":1\}[^\n]*stop deadline/, 'the log says which orders are left in the Redis stream');
  await until(() => !isAlive(pids['redis-server']) && !isAlive(pids.mariadbd), 'the local services stopped', 15_000, 50).catch(() => undefined);
  t.notOk(isAlive(pids['redis-server']), 'redis-server stopped');
  t.notOk(isAlive(pids.mariadbd), 'mariadbd stopped, stalled as it was');
});

t.test('MySQL stalled: a second Ctrl-C after a pause stops at once, local services and all', async (t) => {
  const { s, pids } = await stalled(t);
  t.equal((await buy(s.base, 'st', 'during')).c, 0, 'a win the persister cannot store');
  s.child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 1_500));
  t.equal(s.child.exitCode, null, 'still stopping after 1.5 s (waiting for MySQL)');
  const t0 = Date.now();
  s.child.kill('SIGINT');
  const code = await exitWithin(s, 15_000);
  t.not(code, 'still running', `exited ${Date.now() - t0} ms after the second SIGINT`);
  t.not(code, 0, 'non-zero: a forced stop');
  t.match(s.output(), /"unpersisted":\{"st":1\}[^\n]*"msg":"second signal/, 'the log says which orders are left in the Redis stream');
  t.notOk(isAlive(pids['redis-server']), 'redis-server stopped');
  t.notOk(isAlive(pids.mariadbd), 'mariadbd stopped');
});

t.test('MySQL stalled, the deadline not reached: the graceful stop gives up the flush after 10 s and ends, exit 0', async (t) => {
  const { s, pids } = await stalled(t);
  t.equal((await buy(s.base, 'st', 'during')).c, 0, 'a win the persister cannot store');
  const t0 = Date.now();
  s.child.kill('SIGTERM');
  const code = await exitWithin(s, 28_000);
  t.equal(code, 0, `exit 0, ${Date.now() - t0} ms after SIGTERM (the default deadline is 30 s)`);
  t.match(s.output(), /persister flush incomplete/, 'the flush gave up: the order stays in the Redis stream');
  t.match(s.output(), /"msg":"stopped"/);
  t.notOk(isAlive(pids['redis-server']), 'redis-server stopped');
  t.notOk(isAlive(pids.mariadbd), 'mariadbd stopped, stalled as it was');
});
