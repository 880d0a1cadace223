import t, { type Test } from 'tap';
import { drawVerify } from '../src/cli/draw-verify';
import { commitOf } from '../src/events/draw';
import { eventKeys } from '../src/redis/keys';
import { defineScripts, drawDecide } from '../src/redis/scripts';
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

t.test('the deciding process dies before it writes the draw to MySQL: a survivor writes it, so a restore never draws again', async (t) => {
  const stack = await sharedStack(t);
  const s = await spawnServer(t, stack.env({ SECKILL_WORKERS: '1' }));
  const start = Date.now() + 1_000;
  const drawMs = 1_000;
  const stock = 5;
  t.equal((await putDrawEvent(s.base, 'dd', { stock, start, drawMs })).status, 201);
  await sleepUntil(start + 20);
  const users = Array.from({ length: 20 }, (_, i) => `d${i}`);
  const parked = users.map((u) => click(s.base, 'dd', u));
  await until(async () => (await entrants(stack.redis, 'dd')) === users.length, 'all entered', 5_000, 10);
  // Another process decides at the close and dies at once (its script ran; it never told MySQL): the test plays it,
  // with the server held still so that it cannot decide first.
  const keys = eventKeys('dd');
  const seed = (await stack.redis.hget(keys.meta, 'drawSeed')) as string;
  await sleepUntil(start + drawMs - 200);
  await freeze(s.child.pid as number);
  const r = stack.redis.duplicate();
  t.teardown(() => r.disconnect());
  defineScripts(r);
  await sleepUntil(start + drawMs + 20);
  const decided = await drawDecide(r, keys, seed, []).finally(() => process.kill(s.child.pid as number, 'SIGCONT'));
  t.equal(decided.status, 0, 'decided by the process that then died');
  const told = await Promise.all(parked);
  t.same(codes(told), { 0: stock, 1: users.length - stock }, 'the survivor answered its entrants from the decision');
  const drawn = await stack.redis.hget(keys.meta, 'drawn');
  const list = await (await fetch(`${s.base}/events/dd/draw`)).json();
  await until(async () => {
    const [o] = await stack.pool.query('SELECT COUNT(*) AS n FROM orders WHERE event_id = ?', ['dd']);
    return Number((o as { n: number }[])[0]?.n) === stock;
  }, 'the orders in MySQL', 20_000, 50);
  await until(async () => {
    const [d] = await stack.pool.query('SELECT COUNT(*) AS n FROM event_draws WHERE event_id = ?', ['dd']);
    return Number((d as { n: number }[])[0]?.n) === 1;
  }, 'the decided draw in MySQL', 10_000, 50).then(
    () => t.pass('the decided draw is in MySQL'),
    (err: Error) => t.fail(err.message),
  );
  await stack.redis.flushall();
  await until(async () => (await stack.redis.exists(keys.stock)) === 1 && (await stack.redis.hget(keys.meta, 'lease')) === null, 'restored', 20_000, 50);
  // A buy after the restore (the close is long past) must not find the draw undecided.
  t.equal((await click(s.base, 'dd', 'late')).code, 1, 'a new user after the restore: sold out');
  t.equal(await stack.redis.hget(keys.meta, 'drawn'), drawn, 'the decision is the one made before the loss: no second draw');
  t.same(await (await fetch(`${s.base}/events/dd/draw`)).json(), list, 'the published list is the same');
  const v = await drawVerify(s.base, 'dd');
  t.ok(v.ok, v.lines.join('\n'));
});

t.test('a draw decided with nobody in it, then the sale corrected (a new seed): MySQL forgets the old decision, so the new draw is the one kept', async (t) => {
  const stack = await sharedStack(t);
  const s = await spawnServer(t, stack.env({ SECKILL_WORKERS: '1' }));
  const keys = eventKeys('dz');
  const start = Date.now() + 300;
  t.equal((await putDrawEvent(s.base, 'dz', { stock: 3, start, drawMs: 300 })).status, 201);
  // Decided after the close with nobody in it and no buyer (the process that decided died before its buy): the test plays it.
  const r = stack.redis.duplicate();
  t.teardown(() => r.disconnect());
  defineScripts(r);
  await sleepUntil(start + 350);
  const oldSeed = (await stack.redis.hget(keys.meta, 'drawSeed')) as string;
  t.equal((await drawDecide(r, keys, oldSeed, [])).status, 0, 'decided, empty');
  await until(async () => {
    const [d] = await stack.pool.query('SELECT COUNT(*) AS n FROM event_draws WHERE event_id = ?', ['dz']);
    return Number((d as { n: number }[])[0]?.n) === 1;
  }, 'the empty draw kept in MySQL', 10_000, 50);
  // Corrected: a later start; the old seed is public, so the sale draws again with a new one.
  const start2 = Date.now() + 1_000;
  const drawMs = 800;
  const put = await putDrawEvent(s.base, 'dz', { stock: 3, start: start2, drawMs });
  t.equal(put.status, 200, 'no buyers, nobody entered: the correction is taken');
  const newSeed = (await stack.redis.hget(keys.meta, 'drawSeed')) as string;
  t.not(newSeed, oldSeed, 'a new seed');
  await sleepUntil(start2 + 20);
  const users = Array.from({ length: 12 }, (_, i) => `z${i}`);
  const told = await Promise.all(users.map((u) => click(s.base, 'dz', u)));
  t.same(codes(told), { 0: 3, 1: 9 }, 'the new draw decided its entrants');
  await until(async () => {
    const [d] = await stack.pool.query('SELECT entrants FROM event_draws WHERE event_id = ?', ['dz']);
    return Number((d as { entrants: number }[])[0]?.entrants) === users.length;
  }, 'MySQL holds the new decision', 10_000, 50).then(
    () => t.pass('MySQL holds the new decision, with its 12 entrants'),
    (err: Error) => t.fail(err.message),
  );
  const drawn = await stack.redis.hget(keys.meta, 'drawn');
  await until(async () => {
    const [o] = await stack.pool.query('SELECT COUNT(*) AS n FROM orders WHERE event_id = ?', ['dz']);
    return Number((o as { n: number }[])[0]?.n) === 3;
  }, 'the orders in MySQL', 20_000, 50);
  await stack.redis.flushall();
  await until(async () => (await stack.redis.exists(keys.stock)) === 1 && (await stack.redis.hget(keys.meta, 'lease')) === null, 'restored', 20_000, 50);
  t.equal(await stack.redis.hget(keys.meta, 'drawn'), drawn, 'restored with the new decision');
  t.equal(Number(await stack.redis.hget(keys.meta, 'drawEntrants')), users.length, 'and its entrants');
  // A fresh instance publishes the list from MySQL.
  const fresh = await spawnServer(t, stack.env({ SECKILL_WORKERS: '1' }));
  const v = await drawVerify(fresh.base, 'dz');
  t.ok(v.ok, v.lines.join('\n'));
});

t.test('the same users on two instances (1 and 2 workers) at once, then SIGTERM of one in the window; a tampered list or another seed fails seckill draw verify', async (t) => {
  const stack = await sharedStack(t);
  const a = await spawnServer(t, stack.env({ SECKILL_WORKERS: '1' }));
  const b = await spawnServer(t, stack.env({ SECKILL_WORKERS: '2' }));
  const start = Date.now() + 1_500;
  // Longer than a graceful stop waits for parked requests (SECKILL_QUEUE_TIMEOUT_MS + SECKILL_REDIS_TIMEOUT_MS + 1 s).
  const drawMs = 6_000;
  const stock = 15;
  t.equal((await putDrawEvent(a.base, 'st', { stock, start, drawMs })).status, 201);
  await until(async () => (await publicView(b.base, 'st')).drawMs === drawMs, 'b knows the event', 10_000, 20);
  await sleepUntil(start + 20);
  const users = Array.from({ length: 60 }, (_, i) => `s${i}`);
  // Each user clicks four times at once: twice on a, twice on b (new connections: either worker).
  const clicks = users.flatMap((u) => [click(a.base, 'st', u), click(a.base, 'st', u), click(b.base, 'st', u), click(b.base, 'st', u)]);
  await until(async () => (await entrants(stack.redis, 'st')) === users.length, 'each user entered once', 5_000, 10);
  // a stops gracefully in the window: it waits 3.5 s for the close, then its parked entrants hear 10 (their
  // entries stand), and b decides at the close.
  a.child.kill('SIGTERM');
  t.equal(await a.exited, 0, 'a stopped cleanly');
  const told = await Promise.all(clicks);
  const onA = told.filter((x) => x.base === a.base);
  const onB = told.filter((x) => x.base === b.base);
  t.ok(onA.every((x) => x.code === 10 || x.code === -1), `a's parked entrants: 10 (${JSON.stringify(codes(onA))})`);
  t.ok(onB.every((x) => [0, 1, 2].includes(x.code)), `b's: their result (${JSON.stringify(codes(onB))})`);
  t.ok(onB.every((x) => x.at <= start + drawMs + 1_000), 'within drawMs + 1 s of the start');
  const final = await checkSale(t, () => b.base, 'st', users, stock);
  for (const u of users) {
    const orders = new Set(told.filter((x) => x.user === u && (x.code === 0 || x.code === 2)).map((x) => x.order));
    const f = final.find((x) => x.user === u) as Click;
    if (f.code === 1) t.equal(orders.size, 0, `${u} lost: no click of theirs heard a win`);
    else t.ok(orders.size <= 1 && (orders.size === 0 || orders.has(f.order)), `${u}: every win heard names one order`);
  }
  t.equal(Number(await stack.redis.hget(eventKeys('st').meta, 'drawEntrants')), users.length, 'four clicks each, one entry each');

  // A server that lies: a copy of b's answers, tampered, must not verify.
  const view = (await (await fetch(`${b.base}/events/st`)).json()) as Record<string, unknown>;
  const draw = (await (await fetch(`${b.base}/events/st/draw`)).json()) as { drawSeed: string; stock: number; entrants: [string, number, number][] };
  const http = await import('node:http');
  let served: { view: unknown; draw: unknown } = { view, draw };
  const liar = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url?.endsWith('/draw') ? served.draw : served.view));
  });
  await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
  t.teardown(() => liar.close());
  const base = `http://127.0.0.1:${(liar.address() as { port: number }).port}`;
  t.ok((await drawVerify(base, 'st')).ok, 'the untampered copy verifies');
  const winner = draw.entrants.findIndex((e) => e[2] === 1);
  const loser = draw.entrants.findIndex((e) => e[2] === 0);
  const swapped = draw.entrants.map((e, i) => (i === winner ? [e[0], e[1], 0] : i === loser ? [e[0], e[1], 1] : e));
  const otherSeed = 'ab'.repeat(32);
  const tampered: [string, unknown, unknown][] = [
    ['a winner and a loser swapped', view, { ...draw, entrants: swapped }],
    ['another seed', view, { ...draw, drawSeed: otherSeed }],
    ['another seed and its commit', { ...view, drawCommit: commitOf(otherSeed) }, { ...draw, drawSeed: otherSeed, drawCommit: commitOf(otherSeed) }],
    ['an entrant left out', view, { ...draw, entrants: draw.entrants.filter((_, i) => i !== winner) }],
    ['an entrant twice', view, { ...draw, entrants: [...draw.entrants, draw.entrants[0]] }],
    ['a winner added', { ...view, entrants: users.length + 1 }, { ...draw, entrants: [['f'.repeat(64), 1, 1], ...draw.entrants] }],
  ];
  for (const [what, v, d] of tampered) {
    served = { view: v, draw: d };
    const r = await drawVerify(base, 'st');
    t.notOk(r.ok, `${what}: NOT verified`);
  }
  // Malformed answers: a clear error, never a crash of the command.
  for (const [what, d] of [['no list', { ...draw, entrants: undefined }], ['a list of numbers', { ...draw, entrants: [1, 2, 3] }], ['null', null]] as const) {
    served = { view, draw: d };
    const r = await drawVerify(base, 'st').then(
      (x) => (x.ok ? 'verified' : 'not verified'),
      (err: Error) => `${err.name}: ${err.message}`,
    );
    t.ok(r === 'not verified' || r.startsWith('ConfigError'), `${what}: ${r}`);
  }
});
