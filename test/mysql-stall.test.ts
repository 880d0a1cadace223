import t from 'tap';
import { connectMysql } from '../src/orders/mysql';
import { isAlive } from '../src/services/local-service';
import { testMysql } from './helpers/services';

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
  process.kill(db.pid, 'SIGSTOP');
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
  t.same(new Set(calls.map((c) => (c.ok ? 'ok' : c.code))), new Set(['ETIMEDOUT']), 'all 20 failed with ETIMEDOUT');
  // 8 connections: the 20 calls go in three waves, each bounded by the timeout (a dropped connection frees its place).
  t.ok(slowest < 6 * timeoutMs, `the last failed after ${slowest} ms (timeout ${timeoutMs} ms)`);
  const ending = Date.now();
  await pool.end().catch(() => undefined);
  t.ok(Date.now() - ending < 4 * timeoutMs, `pool.end() finished in ${Date.now() - ending} ms`);
});
