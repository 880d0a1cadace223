import t, { type Test } from 'tap';
import { eventKeys } from '../src/redis/keys';
import { ADMIN, buy, putEvent, testApp, token } from './helpers/app';
import { crowd, wins, type Told } from './helpers/crowd';
import { spawnServer } from './helpers/process';
import { sharedStack } from './helpers/shared-stack';
import { until } from './helpers/wait';

/**
 * The pause switch (POST /admin/events/{e}/pause, /resume): while paused no
 * unit is decided, on every process of every instance; parked buys are
 * answered 16 too; the sale resumes exactly; the switch survives Redis
 * losing the event.
 */

interface PauseAnswer {
  status: number;
  body: { result?: string; paused?: boolean; orders?: number; pauses?: number; pausedMs?: number; lastPausedMs?: number; c?: number };
}

async function admin(base: string, path: string, method = 'POST'): Promise<PauseAnswer> {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });
  return { status: res.status, body: (await res.json()) as PauseAnswer['body'] };
}

function codes(told: readonly Told[]): Record<number, number> {
  const by: Record<number, number> = {};
  for (const x of told) by[x.code] = (by[x.code] ?? 0) + 1;
  return by;
}

t.test('the routes: 401 without the admin token, 404 for no event, 405 for GET; a repeat changes nothing', async (t) => {
  const app = await testApp(t);
  t.equal((await putEvent(app.base, 'p0', { stock: 5 })).status, 201);
  t.equal((await fetch(`${app.base}/admin/events/p0/pause`, { method: 'POST' })).status, 401, 'no token: 401');
  t.equal((await admin(app.base, '/admin/events/nosuch/pause')).status, 404, 'no such event: 404');
  t.equal((await admin(app.base, '/admin/events/bad%20id/pause')).status, 400, 'a malformed id: 400');
  const get = await fetch(`${app.base}/admin/events/p0/pause`, { headers: { authorization: `Bearer ${ADMIN}` } });
  t.equal(get.status, 405, 'GET: 405');
  t.equal(get.headers.get('allow'), 'POST');
  const first = await admin(app.base, '/admin/events/p0/pause');
  t.match(first, { status: 200, body: { result: 'done', paused: true, pauses: 1, orders: 0 } });
  t.match(await admin(app.base, '/admin/events/p0/pause'), { status: 200, body: { result: 'unchanged', paused: true, pauses: 1 } });
  const paused = await buy(app.base, 'p0', 'u1');
  t.match(paused, { status: 503, c: 16 }, 'a buy while paused: 16, HTTP 503');
  const res = await fetch(`${app.base}/events/p0/buy`, { method: 'POST', headers: { authorization: `Bearer ${token('u2')}` } });
  t.ok(res.headers.get('retry-after'), 'with Retry-After');
  t.match(await (await fetch(`${app.base}/events/p0`)).json(), { paused: true }, 'the public view says paused');
  const resumed = await admin(app.base, '/admin/events/p0/resume');
  t.match(resumed, { status: 200, body: { result: 'done', paused: false, pauses: 1 } });
  t.ok((resumed.body.lastPausedMs ?? -1) >= 0, 'the pause it ended is measured');
  t.match(await admin(app.base, '/admin/events/p0/resume'), { status: 200, body: { result: 'unchanged', paused: false } });
  t.match(await buy(app.base, 'p0', 'u1'), { c: 0, o: 1 }, 'after the resume the same user wins');
  const stats = (await (await fetch(`${app.base}/admin/events/p0`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as Record<string, unknown>;
  t.match(stats, { paused: false, pause: { paused: false, pauses: 1 }, outcomes: { paused: 2 } }, 'the stats record the pause and its answers');
});

t.test('parked buys are answered 16 when the pause lands, not at their deadline', async (t) => {
  // Two requests a second leave the rest parked, each with a 10 s deadline.
  const app = await testApp(t, { queueRate: 2, queueBurst: 1, queueTimeoutMs: 10_000 });
  t.equal((await putEvent(app.base, 'p1', { stock: 1000 })).status, 201);
  const started = Date.now();
  const answers = Array.from({ length: 40 }, (_, i) => buy(app.base, 'p1', `parked${i}`));
  await until(async () => app.queue.size >= 30, 'requests parked behind the bucket', 5_000, 5);
  const pause = await admin(app.base, '/admin/events/p1/pause');
  t.equal(pause.body.result, 'done');
  const all = await Promise.all(answers);
  const by: Record<number, number> = {};
  for (const a of all) by[a.c] = (by[a.c] ?? 0) + 1;
  t.ok((by[16] ?? 0) >= 30, `the parked ones heard 16: ${JSON.stringify(by)}`);
  t.equal(by[6] ?? 0, 0, 'none waited for its deadline');
  t.ok(Date.now() - started < 10_000, 'all answered before the first deadline');
  t.equal(all.filter((a) => a.c === 0).length, pause.body.orders, 'the wins are exactly the orders numbered before the pause');
});

for (const workers of [1, 2]) {
  t.test(`two instances of ${workers} worker(s) under a crowd: no unit decided while paused, the rest sold exactly after`, async (t) => {
    const stack = await sharedStack(t);
    const env = (): Record<string, string> => stack.env({ SECKILL_WORKERS: String(workers) });
    const a = await spawnServer(t, env());
    const b = await spawnServer(t, env());
    const stock = 400;
    t.equal((await putEvent(a.base, 'pc', { stock })).status, 201);
    await until(async () => (await fetch(`${b.base}/events/pc`)).status === 200, 'b knows the event', 10_000, 20);

    // A crowd over both; at 150 wins the operator pauses through a.
    let pausing: Promise<PauseAnswer> | undefined;
    let pausedAt = Infinity;
    const users = Array.from({ length: 3_000 }, (_, i) => `c${i}`);
    const first = await crowd([a.base, b.base], 'pc', users, {
      concurrency: 64,
      onAnswer: (_, sold) => {
        if (sold >= 150 && pausing === undefined) {
          pausing = admin(a.base, '/admin/events/pc/pause');
          void pausing.then(() => (pausedAt = Date.now()));
        }
      },
    });
    const pause = await (pausing as Promise<PauseAnswer>);
    t.equal(pause.body.result, 'done', 'paused');
    const orders = pause.body.orders ?? -1;
    const won = wins(first);
    t.ok(orders >= 150 && orders < stock, `the pause took effect after order ${orders}`);
    t.same(won.filter((x) => x.order > orders), [], 'no order above the pause point was decided');
    t.equal(won.length, orders, 'every order decided before the pause was told to its user');
    const late = first.filter((x) => x.sent > pausedAt);
    t.ok(late.length > 0 && late.every((x) => x.code === 16), `every buy sent after the pause answered 16, on both instances (${late.length})`);
    t.ok((codes(first)[16] ?? 0) > 2_000, `the crowd heard 16: ${JSON.stringify(codes(first))}`);
    const r = stack.redis;
    t.equal(Number(await r.get(eventKeys('pc').seq)), orders, "Redis' order counter did not move");
    await until(async () => ((await (await fetch(`${b.base}/events/pc`)).json()) as { paused: boolean }).paused, 'b shows paused', 5_000, 10);

    // Resumed through b: those who heard 16, and new users, buy the rest.
    t.equal((await admin(b.base, '/admin/events/pc/resume')).body.result, 'done', 'resumed');
    const again = first.filter((x) => x.code === 16).map((x) => x.user).concat(Array.from({ length: 500 }, (_, i) => `n${i}`));
    const second = await crowd([a.base, b.base], 'pc', again, { concurrency: 64 });
    const all = [...won, ...wins(second)];
    t.equal(all.length, stock, `exactly the stock sold: ${JSON.stringify(codes(second))}`);
    t.equal(new Set(all.map((x) => x.user)).size, stock, 'one unit per user');
    t.equal(new Set(all.map((x) => x.order)).size, stock, 'each order number once');
    t.equal(Number(await r.get(eventKeys('pc').stock)), 0, 'Redis has none left');
    const stats = (await (await fetch(`${a.base}/admin/events/pc`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
      pause: { paused: boolean; pauses: number; pausedMs: number };
    };
    t.match(stats.pause, { paused: false, pauses: 1 }, 'the pause is recorded');
    t.ok(stats.pause.pausedMs > 0, `and its duration: ${stats.pause.pausedMs} ms`);
  });
}

t.test('a pause survives Redis losing the event: the restore from MySQL keeps it paused', async (t) => {
  await pausedThroughLoss(t);
});

async function pausedThroughLoss(t: Test): Promise<void> {
  const stack = await sharedStack(t);
  const s = await spawnServer(t, stack.env({ SECKILL_WORKERS: '1' }));
  t.equal((await putEvent(s.base, 'pl', { stock: 10 })).status, 201);
  t.match(await buy(s.base, 'pl', 'before'), { c: 0, o: 1 });
  t.equal((await admin(s.base, '/admin/events/pl/pause')).body.result, 'done');
  const stored = async (): Promise<boolean> => {
    const res = await fetch(`${s.base}/events/pl/order`, { headers: { authorization: `Bearer ${token('before')}` } });
    return ((await res.json()) as { s?: string }).s === 'confirmed';
  };
  await until(stored, 'the win stored in MySQL', 10_000, 50);
  const r = stack.redis;
  await r.flushall();
  // The event refresh finds the event gone and restores it from MySQL, with its switch.
  const restoredPaused = async (): Promise<boolean> => {
    const [paused, restoring, stock] = await r.hmget(eventKeys('pl').meta, 'paused', 'restoring', 'stock');
    return paused !== null && restoring === null && stock !== null;
  };
  await until(restoredPaused, 'the event restored, paused', 20_000, 50);
  t.match(await buy(s.base, 'pl', 'after'), { c: 16 }, 'restored paused: a new buyer hears 16');
  t.match(await buy(s.base, 'pl', 'before'), { c: 16 }, 'the old winner too (paused comes first)');
  t.equal((await admin(s.base, '/admin/events/pl/resume')).body.result, 'done');
  t.match(await buy(s.base, 'pl', 'before'), { c: 2, o: 1 }, 'resumed: the winner kept their order');
  t.match(await buy(s.base, 'pl', 'after'), { c: 0, o: 2 }, 'and a new buyer wins the next');
}
