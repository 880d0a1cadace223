import type { RowDataPacket } from 'mysql2/promise';
import t from 'tap';
import { ADMIN, putEvent } from './helpers/app';
import { crowd, wins } from './helpers/crowd';
import { spawnServer } from './helpers/process';
import { sharedStack } from './helpers/shared-stack';
import { until } from './helpers/wait';

/** Fault injection (Redis loss): PUTs racing each other and the restore right after a loss. */
t.test('after FLUSHALL: identical PUT on two servers at once and a different PUT, racing the restore', async (t) => {
  const { redis, pool, env } = await sharedStack(t);
  const a = await spawnServer(t, env());
  const b = await spawnServer(t, env());
  const now = Date.now();
  const def = { stock: 1000, start: now - 1000, end: now + 3_600_000, name: 'race' };
  t.equal((await putEvent(a.base, 'race', def)).status, 201);
  await until(async () => (await fetch(`${b.base}/admin/events/race`, { headers: { authorization: `Bearer ${ADMIN}` } })).status === 200, 'b knows it');
  await crowd([a.base, b.base], 'race', Array.from({ length: 400 }, (_, i) => `r${i}`), { concurrency: 20 });
  await until(async () => (await redis.xlen('sk:{race}:orders')) === 0, 'drained', 20_000, 20);
  await redis.flushall();
  const [same1, same2, diff] = await Promise.all([
    putEvent(a.base, 'race', def),
    putEvent(b.base, 'race', def),
    putEvent(a.base, 'race', { ...def, stock: 5000 }),
  ]);
  const bodies = await Promise.all([same1, same2, diff].map(async (r) => `${r.status} ${JSON.stringify(await r.json().catch(() => null))}`));
  for (const x of bodies) t.comment(x);
  t.not(same1.status, 201, 'identical PUT on a is not "created"');
  t.not(same2.status, 201, 'identical PUT on b is not "created"');
  t.equal(diff.status, 409, 'a different definition after the sale started is refused');
  await until(async () => (await redis.hget('sk:{race}:meta', 'lease')) === null && (await redis.get('sk:{race}:stock')) !== null, 'restored', 20_000, 20);
  t.equal(await redis.hlen('sk:{race}:buyers'), 400, 'buyers restored');
  t.equal(await redis.get('sk:{race}:stock'), '600', 'stock restored');
  t.equal(await redis.hget('sk:{race}:meta', 'stock'), '1000', 'definition unchanged');
  const told = await crowd([a.base, b.base], 'race', Array.from({ length: 800 }, (_, i) => `z${i}`), { concurrency: 20 });
  t.equal(wins(told).length, 600, 'the rest sells exactly');
  await until(async () => (await redis.xlen('sk:{race}:orders')) === 0, 'drained', 20_000, 20);
  const [[n]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n, MAX(order_no) AS m FROM orders WHERE event_id = ?', ['race']);
  t.equal(Number(n?.n), 1000, 'MySQL holds the stock');
  t.equal(Number(n?.m), 1000, 'numbers 1..1000');
});
