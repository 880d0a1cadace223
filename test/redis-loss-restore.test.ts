import type { RowDataPacket } from 'mysql2/promise';
import t from 'tap';
import { buy, putEvent } from './helpers/app';
import { crowd, wins } from './helpers/crowd';
import { spawnServer } from './helpers/process';
import { sharedStack } from './helpers/shared-stack';
import { until } from './helpers/wait';

/**
 * Fault injection (Redis loss): a long restore (250,000 stored orders)
 * is hit by a FLUSHALL while it runs, then every server is SIGKILLed in the
 * middle of the next one; a fresh server must take over once the lease runs
 * out and the sale must continue above the highest stored number.
 */
const STORED = 250_000;
const STOCK = 251_000;

t.test('FLUSHALL during a restore, then SIGKILL of the restorers mid-restore', async (t) => {
  const { redis, pool, env } = await sharedStack(t);
  const a = await spawnServer(t, env());
  const b = await spawnServer(t, env());
  t.equal((await putEvent(a.base, 'long', { stock: STOCK })).status, 201);
  await pool.query(`INSERT INTO orders (event_id, order_no, user_id, created) SELECT 'long', seq, CONCAT('L', seq), NOW(3) FROM seq_1_to_${STORED}`);
  const restoring = async (): Promise<boolean> => (await redis.hget('sk:{long}:meta', 'restoring')) !== null;

  await redis.flushall();
  await until(restoring, 'a restore started', 20_000, 2);
  await until(async () => (await redis.hlen('sk:{long}:buyers')) >= 50_000, 'restore under way', 20_000, 2);
  await redis.flushall();
  t.pass('flushed in the middle of a restore');
  await until(async () => (await redis.hlen('sk:{long}:buyers')) >= 50_000 && (await restoring()), 'a second restore under way', 30_000, 2);
  for (const s of [a, b]) s.child.kill('SIGKILL');
  await Promise.all([a.exited, b.exited]);
  t.pass('every server SIGKILLed mid-restore');
  const c = await spawnServer(t, env());
  const started = Date.now();
  await until(async () => (await redis.hget('sk:{long}:meta', 'stock')) !== null && !(await restoring()), 'restored by the new server', 60_000, 20);
  t.comment(`restored ${Date.now() - started} ms after the new server started (lease 15 s)`);
  t.equal(await redis.hlen('sk:{long}:buyers'), STORED, 'every stored order back as a buyer');
  t.equal(Number(await redis.get('sk:{long}:stock')), STOCK - STORED, 'stock less the stored orders');
  t.equal(Number(await redis.get('sk:{long}:seq')), STORED, 'the counter at the highest stored number');

  const told = await crowd([c.base], 'long', [...Array.from({ length: 1200 }, (_, i) => `n${i}`), 'L1', 'L250000'], { concurrency: 20, timeoutMs: 60_000 });
  // The restored buyers' 2 is their old order: only the new users' wins count.
  const won = wins(told.filter((x) => x.user.startsWith('n')));
  const codes = new Map<number, number>();
  for (const x of told) codes.set(x.code, (codes.get(x.code) ?? 0) + 1);
  t.equal(won.length, STOCK - STORED, `the rest of the stock sold (answers by code: ${JSON.stringify([...codes])})`);
  t.ok(won.every((x) => x.order > STORED), 'every new number above the stored ones');
  t.same(told.filter((x) => x.user.startsWith('L') && ![5, 6, 10].includes(x.code)).map((x) => [x.code, x.order]).sort((p, q) => (p[1] ?? 0) - (q[1] ?? 0)), [[2, 1], [2, 250000]], 'stored buyers clicking in the crowd: already bought, their own numbers');
  // After the sell-out: stored buyers who never clicked here hear "already bought" with their number, never "sold out".
  for (const u of ['L2', 'L123456', 'L249999']) t.match(await buy(c.base, 'long', u), { c: 2, o: Number(u.slice(1)) }, `${u} after the sell-out: 2`);
  t.match(await buy(c.base, 'long', 'latecomer'), { c: 1 }, 'a new user after the sell-out: 1');
  await until(async () => (await redis.xlen('sk:{long}:orders')) === 0, 'drained', 30_000, 50);
  const [[n]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM orders WHERE event_id = ?', ['long']);
  const [[cf]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM order_conflicts', []);
  t.equal(Number(n?.n), STOCK, 'MySQL holds exactly the stock');
  t.equal(Number(cf?.n), 0, 'no conflict');
  t.comment(c.output().split('\n').filter((l) => /restore/.test(l)).slice(0, 6).join('\n'));
});
