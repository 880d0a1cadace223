import type { RowDataPacket } from 'mysql2/promise';
import t from 'tap';
import { ADMIN, putEvent } from './helpers/app';
import { crowd, wins } from './helpers/crowd';
import { spawnServer } from './helpers/process';
import { sharedStack } from './helpers/shared-stack';
import { until } from './helpers/wait';

const STORED = 1_000_000;
const LEFT = 400;

t.test(`restore of an event with ${STORED.toLocaleString('en')} stored orders while a second server keeps selling`, async (t) => {
  const { redis, pool, env } = await sharedStack(t);
  const a = await spawnServer(t, env());
  const b = await spawnServer(t, env());
  t.equal((await putEvent(a.base, 'mega', { stock: STORED + LEFT })).status, 201);
  await until(async () => (await fetch(`${b.base}/admin/events/mega`, { headers: { authorization: `Bearer ${ADMIN}` } })).status === 200, 'b knows the event');
  // A million orders already in MySQL (MariaDB's sequence engine makes them in one statement).
  await pool.query(`INSERT INTO orders (event_id, order_no, user_id, created) SELECT 'mega', seq, CONCAT('m', seq), NOW(3) FROM seq_1_to_${STORED}`);
  await redis.flushall();
  const lostAt = Date.now();

  // Both servers learn of the loss from their first buy (7 -> restore); the crowd goes to b only.
  void fetch(`${a.base}/events/mega/buy`, { method: 'POST' }).catch(() => undefined);
  const told = await crowd([b.base], 'mega', Array.from({ length: LEFT + 200 }, (_, i) => `n${i}`), { concurrency: 20, timeoutMs: 180_000 });
  const firstWin = Math.min(...wins(told).map((x) => x.at));
  t.comment(`restore took about ${firstWin - lostAt} ms; ${told.filter((x) => x.code === 10).length} buys answered 10 meanwhile`);
  t.ok(told.some((x) => x.code === 10), 'buys were answered 10 while the restore ran');
  const won = wins(told);
  t.equal(won.length, LEFT, `exactly the ${LEFT} units left were sold`);
  t.ok(won.every((x) => x.order > STORED && x.order <= STORED + LEFT), 'every new order number is above the million stored ones');
  t.equal(new Set(won.map((x) => x.order)).size, LEFT, 'each number once');
  t.equal(await redis.hlen('sk:{mega}:buyers'), STORED + LEFT, 'Redis knows every buyer');
  t.equal(await redis.get('sk:{mega}:stock'), '0');
  await until(async () => (await redis.xlen('sk:{mega}:orders')) === 0, 'the new orders persisted', 60_000, 50);
  const [[r]] = await pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM orders WHERE event_id = 'mega'");
  t.equal(Number(r?.n), STORED + LEFT, 'MySQL holds exactly the stock');
  const [[c]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM order_conflicts');
  t.equal(Number(c?.n), 0, 'no conflict');
});
