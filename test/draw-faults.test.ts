import t from 'tap';
import { drawVerify } from '../src/cli/draw-verify';
import { eventKeys } from '../src/redis/keys';
import { ADMIN } from './helpers/app';
import { click, publicView, putDrawEvent, sleepUntil, type Click } from './helpers/draw';
import { spawnServer } from './helpers/process';
import { sharedStack } from './helpers/shared-stack';
import { until } from './helpers/wait';

/**
 * The draw at the opening under faults, on real server processes: a pause
 * during the window, an instance killed between its users' entries and the
 * decision, Redis losing the decided draw, clients hanging up while parked.
 * Whatever happens, exactly the stock is sold, one unit per user, and the
 * published draw still verifies.
 */

function codes(told: readonly Click[]): Record<number, number> {
  const by: Record<number, number> = {};
  for (const x of told) by[x.code] = (by[x.code] ?? 0) + 1;
  return by;
}

async function admin(base: string, path: string): Promise<unknown> {
  return (await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } })).json();
}

/** Clicks again (as a client does after 5, 6, 10, 16 or a dropped connection) until a final answer. */
async function settle(base: () => string, event: string, user: string): Promise<Click> {
  for (let i = 0; ; i++) {
    const x = await click(base(), event, user);
    if (![-1, 5, 6, 10, 16].includes(x.code) || i > 200) return x;
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const workers of ['1', '2']) {
  t.test(`${workers} worker(s): a pause during the window answers the entrants 16 and decides nothing until resumed`, async (t) => {
    const stack = await sharedStack(t);
    const s = await spawnServer(t, stack.env({ SECKILL_WORKERS: workers }));
    const start = Date.now() + 1_000;
    const drawMs = 1_500;
    t.equal((await putDrawEvent(s.base, 'dp', { stock: 20, start, drawMs })).status, 201);
    await sleepUntil(start + 20);
    const users = Array.from({ length: 100 }, (_, i) => `p${i}`);
    const parked = users.map((u) => click(s.base, 'dp', u));
    await until(async () => Number(await stack.redis.hget(eventKeys('dp').meta, 'drawEntrants')) === 100, 'all entered', 5_000, 10);
    t.match(await admin(s.base, '/admin/events/dp/pause'), { result: 'done', orders: 0 });
    const first = await Promise.all(parked);
    t.same(codes(first), { 16: 100 }, 'every parked entrant heard 16');
    t.ok(first.every((x) => x.at < start + drawMs), 'at the pause, not at the close');
    await sleepUntil(start + drawMs + 300);
    t.equal(await stack.redis.hget(eventKeys('dp').meta, 'drawn'), null, 'the window closed while paused: nothing decided');
    t.equal(await stack.redis.hlen(eventKeys('dp').buyers), 0, 'no buyer');
    t.equal((await click(s.base, 'dp', 'p0')).code, 16, 'a click while paused: 16');
    t.match(await admin(s.base, '/admin/events/dp/resume'), { result: 'done' });
    // Their retries after the resume learn the draw (decided by the first of them), and new users buy what is left.
    const again = await Promise.all([...users, 'newcomer'].map((u) => settle(() => s.base, 'dp', u)));
    t.equal(again.filter((x) => x.code === 0 || x.code === 2).length, 20, `exactly the stock, to entrants of the draw: ${JSON.stringify(codes(again))}`);
    t.equal(again[100]?.code, 1, 'the newcomer after the draw: sold out');
    t.equal(new Set(again.filter((x) => x.order > 0).map((x) => x.order)).size, 20, 'each order once');
    const v = await drawVerify(s.base, 'dp');
    t.ok(v.ok, v.lines.join('\n'));
    t.equal((await publicView(s.base, 'dp')).entrants, 100);
  });
}

t.test('an instance killed between its users entering and the decision: the other decides, the entries stand', async (t) => {
  const stack = await sharedStack(t);
  const a = await spawnServer(t, stack.env({ SECKILL_WORKERS: '1' }));
  const b = await spawnServer(t, stack.env({ SECKILL_WORKERS: '2' }));
  const start = Date.now() + 1_500;
  const drawMs = 2_000;
  const stock = 30;
  t.equal((await putDrawEvent(a.base, 'dk', { stock, start, drawMs })).status, 201);
  await until(async () => (await publicView(b.base, 'dk')).drawMs === drawMs, 'b knows the event', 10_000, 20);
  await sleepUntil(start + 20);
  const users = Array.from({ length: 200 }, (_, i) => `k${i}`);
  const onA = users.slice(0, 100).map((u) => click(a.base, 'dk', u));
  const onB = users.slice(100).map((u) => click(b.base, 'dk', u));
  await until(async () => Number(await stack.redis.hget(eventKeys('dk').meta, 'drawEntrants')) === 200, 'all entered', 5_000, 10);
  a.child.kill('SIGKILL');
  await a.exited;
  const lostA = await Promise.all(onA);
  t.ok(lostA.every((x) => x.code === -1), "a's clients lost their connections");
  const fromB = await Promise.all(onB);
  t.ok(fromB.every((x) => x.code === 0 || x.code === 1), `b's entrants answered at the close: ${JSON.stringify(codes(fromB))}`);
  // a's users click again, on b, after the close: they are entrants, and hear their result.
  const retried = await Promise.all(users.slice(0, 100).map((u) => settle(() => b.base, 'dk', u)));
  // (b knows the draw decided by then: a winner's click is "already bought" with the order the draw gave them.)
  t.ok(retried.every((x) => x.code === 2 || x.code === 0 || x.code === 1), `a's users heard their draw result from b: ${JSON.stringify(codes(retried))}`);
  const won = [...retried, ...fromB].filter((x) => x.code === 0 || x.code === 2);
  t.equal(won.length, stock, 'exactly the stock');
  t.equal(new Set(won.map((x) => x.order)).size, stock, 'each order once');
  const v = await drawVerify(b.base, 'dk');
  t.ok(v.ok, v.lines.join('\n'));
});

t.test('Redis loses the decided draw: the restore from MySQL keeps its seed and decision, and its list stays published', async (t) => {
  const stack = await sharedStack(t);
  const s = await spawnServer(t, stack.env({ SECKILL_WORKERS: '1' }));
  const start = Date.now() + 800;
  const drawMs = 1_000;
  t.equal((await putDrawEvent(s.base, 'dl', { stock: 10, start, drawMs })).status, 201);
  await sleepUntil(start + 20);
  const told = await Promise.all(Array.from({ length: 40 }, (_, i) => click(s.base, 'dl', `l${i}`)));
  t.equal(told.filter((x) => x.code === 0).length, 10);
  const before = await publicView(s.base, 'dl');
  const list = await (await fetch(`${s.base}/events/dl/draw`)).json();
  const decided = await stack.redis.hget(eventKeys('dl').meta, 'drawn');
  await until(async () => {
    const [d] = await stack.pool.query('SELECT COUNT(*) AS n FROM event_draws WHERE event_id = ?', ['dl']);
    const [o] = await stack.pool.query('SELECT COUNT(*) AS n FROM orders WHERE event_id = ?', ['dl']);
    return Number((d as { n: number }[])[0]?.n) === 1 && Number((o as { n: number }[])[0]?.n) === 10;
  }, 'the draw and its orders in MySQL', 20_000, 50);

  await stack.redis.flushall();
  await until(async () => (await stack.redis.hget(eventKeys('dl').meta, 'drawn')) !== null && (await stack.redis.exists(eventKeys('dl').stock)) === 1, 'restored', 20_000, 50);
  t.equal(await stack.redis.hget(eventKeys('dl').meta, 'drawn'), decided, 'the decision is the one made before the loss: no second draw');
  t.equal(await stack.redis.hget(eventKeys('dl').meta, 'drawSeed'), before.drawSeed, 'the same seed');
  t.equal(await stack.redis.exists(eventKeys('dl').entrants), 0, "(Redis' list is gone)");
  const after = await fetch(`${s.base}/events/dl/draw`);
  t.equal(after.status, 200);
  t.same(await after.json(), list, 'the published list, from MySQL');
  t.match(await publicView(s.base, 'dl'), { drawCommit: before.drawCommit, drawSeed: before.drawSeed, entrants: 40 });
  const v = await drawVerify(s.base, 'dl');
  t.ok(v.ok, v.lines.join('\n'));
  // The winners are buyers again; a new user buys nothing (sold out), first come first served.
  const winner = told.find((x) => x.code === 0) as Click;
  t.match(await click(s.base, 'dl', winner.user), { code: 2, order: winner.order }, 'a winner: already bought, same order');
  t.equal((await click(s.base, 'dl', 'after')).code, 1, 'after the draw: sold out');
});

t.test('clients that hang up while parked: their entries stand, the draw decides them, their next click hears it', async (t) => {
  const stack = await sharedStack(t);
  const s = await spawnServer(t, stack.env({ SECKILL_WORKERS: '2' }));
  const start = Date.now() + 1_000;
  const drawMs = 1_500;
  const stock = 50;
  t.equal((await putDrawEvent(s.base, 'dh', { stock, start, drawMs })).status, 201);
  await sleepUntil(start + 20);
  const users = Array.from({ length: 100 }, (_, i) => `h${i}`);
  const aborts = users.map(() => new AbortController());
  const clicks = users.map((u, i) => click(s.base, 'dh', u, (aborts[i] as AbortController).signal));
  await until(async () => Number(await stack.redis.hget(eventKeys('dh').meta, 'drawEntrants')) === 100, 'all entered', 5_000, 10);
  for (const c of aborts.slice(0, 40)) c.abort();
  const told = await Promise.all(clicks);
  t.ok(told.slice(0, 40).every((x) => x.code === -1), 'the 40 hung up');
  t.ok(told.slice(40).every((x) => x.code === 0 || x.code === 1), 'the others heard their result');
  const again = await Promise.all(users.slice(0, 40).map((u) => click(s.base, 'dh', u)));
  t.ok(again.every((x) => x.code === 2 || x.code === 1), `the 40 clicking again: already bought (their win) or sold out: ${JSON.stringify(codes(again))}`);
  const won = [...again.filter((x) => x.code === 2), ...told.filter((x) => x.code === 0)];
  t.equal(won.length, stock, 'exactly the stock, to entrants of the draw');
  t.equal(new Set(won.map((x) => x.order)).size, stock);
  t.equal(await stack.redis.hlen(eventKeys('dh').buyers), stock);
});
