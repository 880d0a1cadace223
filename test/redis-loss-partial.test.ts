import { Redis } from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import t, { type Test } from 'tap';
import { ADMIN, putEvent, token } from './helpers/app';
import { crowd, wins } from './helpers/crowd';
import { spawnServer, type ServerProcess } from './helpers/process';
import { sharedStack } from './helpers/shared-stack';
import { until } from './helpers/wait';

/**
 * Fault injection (Redis loss): Redis loses ONE key of an event, not
 * everything (an operator's DEL, a bad script, eviction under a maxmemory
 * policy). The invariants are the same as for FLUSHALL: no "sold out" while
 * units remain, no user with two units, no order number twice.
 */

interface Stack {
  readonly redis: Redis;
  readonly pool: Pool;
  start(name: string): Promise<ServerProcess>;
}

async function stack(t: Test): Promise<Stack> {
  const { redis, pool, env } = await sharedStack(t);
  return { redis, pool, start: () => spawnServer(t, env()) };
}

async function stored(pool: Pool, event: string): Promise<number> {
  const [[r]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM orders WHERE event_id = ?', [event]);
  return Number(r?.n);
}

async function buyOn(base: string, event: string, user: string): Promise<{ c: number; o?: number }> {
  const res = await fetch(`${base}/events/${event}/buy`, { method: 'POST', headers: { authorization: `Bearer ${token(user)}` } });
  return (await res.json()) as { c: number; o?: number };
}

t.test('only sk:{E}:stock is deleted mid-sale: the sale must still sell every unit', async (t) => {
  const s = await stack(t);
  const a = await s.start('a');
  t.equal((await putEvent(a.base, 'dstock', { stock: 300 })).status, 201);
  let deleted = false;
  let delAt = Infinity;
  const told = await crowd([a.base], 'dstock', Array.from({ length: 600 }, (_, i) => `s${i}`), {
    concurrency: 20,
    timeoutMs: 30_000,
    onAnswer: (_x, sold) => {
      if (!deleted && sold >= 100) {
        deleted = true;
        delAt = Date.now();
        void s.redis.del('sk:{dstock}:stock');
      }
    },
  });
  const won = wins(told).length;
  const soldOutAfter = told.filter((x) => x.code === 1 && x.sent > delAt).length;
  t.comment(`won ${won}, sold-out answers after the DEL ${soldOutAfter}`);
  await until(async () => (await s.redis.xlen('sk:{dstock}:orders')) === 0, 'drained', 20_000, 50);
  t.equal(await stored(s.pool, 'dstock'), 300, 'every unit sold (no "sold out" while 200 units remain)');
});

t.test('only sk:{E}:buyers is deleted mid-sale: no earlier winner may win a second unit', async (t) => {
  const s = await stack(t);
  const a = await s.start('a');
  const b = await s.start('b');
  t.equal((await putEvent(a.base, 'dbuy', { stock: 300 })).status, 201);
  await until(async () => (await fetch(`${b.base}/admin/events/dbuy`, { headers: { authorization: `Bearer ${ADMIN}` } })).status === 200, 'b knows it');
  // 50 users win on a; Redis then loses only the buyers hash; they click again on b (which never saw them win).
  const users = Array.from({ length: 50 }, (_, i) => `w${i}`);
  for (const u of users) t.equal((await buyOn(a.base, 'dbuy', u)).c, 0, `${u} wins on a`);
  await s.redis.del('sk:{dbuy}:buyers');
  let second = 0;
  for (const u of users) if ((await buyOn(b.base, 'dbuy', u)).c === 0) second++;
  await until(async () => (await s.redis.xlen('sk:{dbuy}:orders')) === 0, 'drained', 20_000, 50);
  const [[c]] = await s.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM order_conflicts WHERE event_id = ?', ['dbuy']);
  t.comment(`second wins: ${second}; MySQL orders ${await stored(s.pool, 'dbuy')}; conflicts ${Number(c?.n)}; Redis stock ${await s.redis.get('sk:{dbuy}:stock')}`);
  t.equal(second, 0, 'no earlier winner is told "won" a second time');
});

t.test('only sk:{E}:meta is deleted mid-sale: restored, sells out exactly', async (t) => {
  const s = await stack(t);
  const a = await s.start('a');
  t.equal((await putEvent(a.base, 'dmeta', { stock: 300 })).status, 201);
  let deleted = false;
  const told = await crowd([a.base], 'dmeta', Array.from({ length: 600 }, (_, i) => `m${i}`), {
    concurrency: 20,
    timeoutMs: 30_000,
    onAnswer: (_x, sold) => {
      if (!deleted && sold >= 100) {
        deleted = true;
        void s.redis.del('sk:{dmeta}:meta');
      }
    },
  });
  await until(async () => (await s.redis.xlen('sk:{dmeta}:orders')) === 0, 'drained', 20_000, 50);
  t.equal(await stored(s.pool, 'dmeta'), 300, 'exact stock in MySQL');
  t.equal(wins(told).length, 300, '300 told won');
});
