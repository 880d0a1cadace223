import type { RowDataPacket } from 'mysql2/promise';
import t, { type Test } from 'tap';
import { buy, count, putEvent } from './helpers/app';
import { ask, json } from './helpers/contract';
import { crowd, wins } from './helpers/crowd';
import { spawnServer, type ServerProcess } from './helpers/process';
import { sharedStack } from './helpers/shared-stack';
import { until } from './helpers/wait';

const HOUR = 3_600_000;

/**
 * Two instances on one Redis and one MariaDB: `a` with two workers, `b` with
 * one. The event refresh is an hour, so what every process learns within the
 * test it learns from the sale news (the put's `changed`), not the refresh.
 */
async function twoInstances(t: Test): Promise<{ a: ServerProcess; b: ServerProcess; stack: Awaited<ReturnType<typeof sharedStack>> }> {
  const stack = await sharedStack(t);
  const quiet = { SECKILL_EVENT_REFRESH_MS: String(HOUR) };
  const [a, b] = await Promise.all([spawnServer(t, stack.env({ ...quiet, SECKILL_WORKERS: '2' })), spawnServer(t, stack.env({ ...quiet, SECKILL_WORKERS: '1' }))]);
  return { a, b, stack };
}

/** Waits until every serving process of both instances shows `event` as `check` wants (fresh connections: each worker answers some). */
async function everyProcess(servers: readonly ServerProcess[], event: string, check: (view: Record<string, unknown>) => boolean, what: string): Promise<void> {
  await until(async () => {
    for (const s of servers) {
      for (let i = 0; i < 8; i++) {
        const r = await ask(s.port, 'GET', `/events/${event}`);
        if (r.status !== 200 || !check(json(r))) return false;
      }
    }
    return true;
  }, what);
}

async function storedStock(pool: Awaited<ReturnType<typeof sharedStack>>['pool'], event: string): Promise<number | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT stock FROM events WHERE id = ?', [event]);
  return rows[0] === undefined ? undefined : Number(rows[0].stock);
}

t.test('after its start, an event with no buyers is corrected on every process of every instance; one buyer makes it 409', async (t) => {
  const { a, b, stack } = await twoInstances(t);
  const now = Date.now();
  const typo = { stock: 5, start: now - 1_000, end: now + HOUR, name: 'Typo' };
  t.equal((await putEvent(a.base, 'fix', typo)).status, 201);
  await everyProcess([a, b], 'fix', (v) => v.state === 'open', 'every process knows the sale, open');

  const fixed = { ...typo, stock: 2, end: now + 2 * HOUR, name: 'Fixed' };
  const put = await putEvent(b.base, 'fix', fixed);
  t.same([put.status, ((await put.json()) as { result: string }).result], [200, 'updated'], 'open, no buyers: the correction is taken');
  // The public route answers from each process's memory: the news reached them all.
  await everyProcess([a, b], 'fix', (v) => v.name === 'Fixed' && v.end === new Date(fixed.end).toISOString(), 'every process has the corrected definition');
  t.equal(await storedStock(stack.pool, 'fix'), 2, 'MySQL has it too (a restore would bring back the corrected sale)');

  const told = await crowd([a.base, b.base], 'fix', Array.from({ length: 12 }, (_, i) => `c${i}`), { concurrency: 6 });
  t.equal(wins(told).length, 2, 'the corrected stock is what sells: 2 wins');
  t.equal(count(told, (x) => x.code === 1), 10, 'then sold out, on every process');

  const late = await putEvent(a.base, 'fix', { ...fixed, stock: 3 });
  t.equal(late.status, 409, 'with buyers: 409');
  t.match(await late.json(), { result: 'refused: the sale has buyers; only an identical definition is accepted' });
  t.equal(await stack.redis.get('sk:{fix}:stock'), '0', 'Redis: nothing given back');
  t.equal(await stack.redis.hget('sk:{fix}:meta', 'stock'), '2');
  t.equal(await storedStock(stack.pool, 'fix'), 2, 'MySQL: the refused change was rolled back');
});

t.test('a correction racing the first buy on another instance: the put script decides, and the sale adds up either way', async (t) => {
  const { a, b, stack } = await twoInstances(t);
  const outcomes = { corrected: 0, refused: 0 };
  // The put writes MySQL before it runs its script: the buy is sent from 0 to 40 ms after it, so either may reach Redis first.
  const delays = [0, 2, 4, 6, 8, 10, 12, 14, 17, 20, 25, 30, 40];
  for (const [i, delay] of delays.entries()) {
    const id = `race${i}`;
    const now = Date.now();
    const def = { stock: 3, start: now - 1_000, end: now + HOUR };
    t.equal((await putEvent(a.base, id, def)).status, 201);
    await everyProcess([b], id, (v) => v.state === 'open', `${id}: b knows it`);
    const putting = putEvent(a.base, id, { ...def, stock: 1 });
    await new Promise((r) => setTimeout(r, delay));
    const [won, put] = await Promise.all([buy(b.base, id, 'first'), putting]);
    t.same([won.c, won.o], [0, 1], `${id}: the buy wins order 1 under either definition`);
    const [stock, remaining, buyers] = await Promise.all([stack.redis.hget(`sk:{${id}}:meta`, 'stock'), stack.redis.get(`sk:{${id}}:stock`), stack.redis.hlen(`sk:{${id}}:buyers`)]);
    if (put.status === 200) {
      outcomes.corrected++;
      t.same([stock, remaining, buyers], ['1', '0', 1], `${id}: corrected first, then bought: 1 of 1 sold`);
    } else {
      outcomes.refused++;
      t.equal(put.status, 409, `${id}: bought first, then the correction refused`);
      t.same([stock, remaining, buyers], ['3', '2', 1], `${id}: 1 of 3 sold`);
    }
    t.equal(await storedStock(stack.pool, id), Number(stock), `${id}: MySQL has what Redis has`);
  }
  t.comment(`corrected first ${outcomes.corrected}, bought first ${outcomes.refused}`);
});
