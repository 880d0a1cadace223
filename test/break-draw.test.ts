import t, { type Test } from 'tap';
import { drawVerify } from '../src/cli/draw-verify';
import { eventKeys } from '../src/redis/keys';
import { ADMIN } from './helpers/app';
import { click, publicView, putDrawEvent, sleepUntil, type Click } from './helpers/draw';
import { freeze, spawnServer } from './helpers/process';
import { sharedStack } from './helpers/shared-stack';
import { until } from './helpers/wait';

/**
 * Attacks on the draw at the opening (issue 24 part 1), on real server
 * processes sharing one redis-server and one mariadbd: faults across the
 * window's close, hostile timing, clients that leave. Whatever happens, an
 * answer is a promise (a win is a unit, "sold out" is true), exactly the
 * stock is sold, every parked entrant is answered by its deadline, and the
 * published draw still verifies.
 */

function codes(told: readonly Click[]): Record<number, number> {
  const by: Record<number, number> = {};
  for (const x of told) by[x.code] = (by[x.code] ?? 0) + 1;
  return by;
}

/** Clicks again (as a client does after 5, 6, 10, 16 or a dropped connection) until a final answer. */
async function settle(base: () => string, event: string, user: string): Promise<Click> {
  for (let i = 0; ; i++) {
    const x = await click(base(), event, user);
    if (![-1, 5, 6, 10, 16].includes(x.code) || i > 400) return x;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function entrants(redis: { hget(k: string, f: string): Promise<string | null> }, event: string): Promise<number> {
  return Number(await redis.hget(eventKeys(event).meta, 'drawEntrants'));
}

/** Every user's final answer, by settling each; checks exact stock, one order each, and the published draw. */
async function checkSale(t: Test, base: () => string, event: string, users: readonly string[], stock: number): Promise<Click[]> {
  const final = await Promise.all(users.map((u) => settle(base, event, u)));
  const won = final.filter((x) => x.code === 0 || x.code === 2);
  t.equal(won.length, stock, `exactly the stock sold: ${JSON.stringify(codes(final))}`);
  t.equal(new Set(won.map((x) => x.order)).size, won.length, 'each order once');
  t.ok(final.every((x) => [0, 1, 2].includes(x.code)), 'every user heard a final answer');
  const v = await drawVerify(base(), event);
  t.ok(v.ok, v.lines.join('\n'));
  return final;
}

for (const workers of ['1', '2']) {
  t.test(`${workers} worker(s): Redis frozen across the close: every entrant is answered by its deadline, the draw is decided once Redis is back`, async (t) => {
    const stack = await sharedStack(t);
    const timeoutMs = 1_000;
    const s = await spawnServer(t, stack.env({ SECKILL_WORKERS: workers, SECKILL_QUEUE_TIMEOUT_MS: String(timeoutMs) }));
    const start = Date.now() + 1_000;
    const drawMs = 1_000;
    const stock = 10;
    t.equal((await putDrawEvent(s.base, 'rf', { stock, start, drawMs })).status, 201);
    await sleepUntil(start + 20);
    const users = Array.from({ length: 40 }, (_, i) => `f${i}`);
    const parked = users.map((u) => click(s.base, 'rf', u));
    await until(async () => (await entrants(stack.redis, 'rf')) === users.length, 'all entered', 5_000, 10);
    await sleepUntil(start + drawMs - 150);
    const pid = stack.local.pid;
    await freeze(pid);
    let thawed = false;
    const thaw = (): void => {
      if (!thawed) process.kill(pid, 'SIGCONT');
      thawed = true;
    };
    t.teardown(thaw);
    // Redis stays frozen well past every entrant's deadline (close + SECKILL_QUEUE_TIMEOUT_MS).
    const deadline = start + drawMs + timeoutMs;
    const heldUntil = deadline + 2_500;
    const first = await Promise.race([Promise.all(parked), sleepUntil(heldUntil).then(() => undefined)]);
    const late = Date.now();
    thaw();
    t.ok(first !== undefined, `every parked entrant answered while Redis was frozen (it stayed so until ${heldUntil - start} ms after the start)`);
    const told = first ?? (await Promise.all(parked));
    t.ok(
      told.every((x) => x.at <= deadline + 1_000),
      `each by its deadline + 1 s (latest ${Math.max(...told.map((x) => x.at)) - deadline} ms past it; Redis thawed ${late - deadline} ms past it)`,
    );
    t.ok(told.every((x) => [6, 10].includes(x.code)), `answered 6 or 10, nothing decided without Redis: ${JSON.stringify(codes(told))}`);
    await checkSale(t, () => s.base, 'rf', users, stock);
    t.equal(Number(await stack.redis.hget(eventKeys('rf').meta, 'drawEntrants')), users.length, 'every entry stood');
  });
}
