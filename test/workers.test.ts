import type { RowDataPacket } from 'mysql2/promise';
import Redis from 'ioredis';
import t from 'tap';
import { connectMysql } from '../src/orders/mysql';
import { AnswerCounts } from '../src/events/answer-counts';
import { Outcome, OUTCOMES } from '../src/outcome';
import { eventKeys } from '../src/redis/keys';
import { ADMIN, buy, count, putEvent, token } from './helpers/app';
import { crowd, wins } from './helpers/crowd';
import { scrape } from './helpers/metrics';
import { testMysql, testRedis } from './helpers/services';
import { until } from './helpers/wait';
import { twoWorkers, workerPids } from './helpers/workers';

/** The first snapshot the dashboard's stream sends. */
interface Frame {
  events: { id: string; answers: Record<string, number> }[];
  queue: { capacity: number };
  workerRestarts?: number;
}

async function dashboardFrame(base: string): Promise<Frame> {
  const res = await fetch(`${base}/admin/stream`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const reader = res.body!.getReader();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('stream ended');
    text += Buffer.from(value).toString('utf8');
    const m = /data: (.*)\n\n/.exec(text);
    if (m !== null) {
      await reader.cancel();
      return JSON.parse(m[1]!) as Frame;
    }
  }
}


interface Stats {
  remaining: number;
  outcomes: Record<string, number>;
  local: { remaining: number };
  processes: unknown[];
  queue: { capacity: number };
}

async function stats(base: string, event: string): Promise<Stats> {
  const res = await fetch(`${base}/admin/events/${event}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return (await res.json()) as Stats;
}


/** The answer counts every process published for `event`, straight from Redis (the value's part after '|'). */
async function published(redis: Redis, event: string): Promise<AnswerCounts[]> {
  const all = await redis.hgetall(eventKeys(event).answers);
  return Object.values(all).map((v) => AnswerCounts.parse(v.slice(v.indexOf('|') + 1)) ?? new AnswerCounts());
}

t.test('SECKILL_WORKERS=2: exact winners, repeat clicks, counts summed over the workers', async (t) => {
  const local = await testRedis(t);
  const redis = new Redis({ path: local.socket });
  t.teardown(() => redis.quit());
  const s = await twoWorkers(t, { REDIS_URL: local.socket, SECKILL_QUEUE_CAPACITY: '2000' });
  t.equal(workerPids(s).length, 2, 'two worker processes');
  t.equal((await putEvent(s.base, 'w2', { stock: 300 })).status, 201);
  const first = await Promise.all(Array.from({ length: 800 }, (_, i) => buy(s.base, 'w2', `u${i}`)));
  t.equal(count(first, (a) => a.c === 0), 300, 'exactly the stock won');
  t.equal(count(first, (a) => a.c === 1), 500, 'the rest sold out');
  const orders = first.filter((a) => a.c === 0).map((a) => a.o!).sort((a, b) => a - b);
  t.same(orders, Array.from({ length: 300 }, (_, i) => i + 1), 'order numbers 1..300, each once');
  const winner = first.findIndex((a) => a.c === 0);
  const again = await Promise.all(Array.from({ length: 20 }, () => buy(s.base, 'w2', `u${winner}`)));
  t.ok(again.every((a) => a.c === 2 && a.o === first[winner]!.o), 'a winner clicking again, on either worker: already bought, same order');
  // Each worker publishes its counts about once a second. Once both copies in Redis hold every
  // answer, whichever worker answers reads the same totals (its own live counts + the other's copy).
  await until(async () => {
    const rows = await published(redis, 'w2');
    const sum = (code: Outcome): number => rows.reduce((n, r) => n + r.total(code), 0);
    return rows.length === 2 && sum(Outcome.Won) === 300 && sum(Outcome.SoldOut) + sum(Outcome.AlreadyBought) === 520;
  }, 'both workers published their final counts');
  const st = await stats(s.base, 'w2');
  t.equal(st.outcomes.won, 300, 'admin stats: wins summed over the workers');
  t.equal(st.processes.length, 2, 'and shown per process');
  t.equal(st.queue.capacity, 2000, "the queue's bound: both workers' shares (SECKILL_QUEUE_CAPACITY 2000 = 2 x 1000)");
  const frame = await dashboardFrame(s.base);
  t.equal(frame.queue.capacity, 2000, 'the dashboard shows the same bound');
  t.equal(frame.workerRestarts, 0, 'and no worker restart');
  // Whichever worker answers the scrape, once the other's counts are published.
  let m = await scrape(s.base, ADMIN);
  await until(async () => (m = await scrape(s.base, ADMIN))('seckill_decisions_total', { outcome: 'already_bought' }) === 20, '/metrics catches up');
  t.equal(m('seckill_decisions_total', { channel: 'http', stage: 'redis', outcome: 'won' }), 300, '/metrics: summed whichever worker answers the scrape');
  t.equal(m('seckill_parked_requests'), 0);
  // A repeat click on the worker that did not decide it may go to Redis once (which answers 2); never "sold out".
  t.equal(m('seckill_decisions_total', { outcome: 'already_bought' }), 20, 'every repeat click: already bought');
});

t.test('a worker killed with SIGKILL is restarted; the sale goes on exactly', async (t) => {
  const s = await twoWorkers(t);
  t.equal((await putEvent(s.base, 'kw', { stock: 400 })).status, 201);
  const before = await Promise.all(Array.from({ length: 100 }, (_, i) => buy(s.base, 'kw', `a${i}`)));
  t.equal(count(before, (a) => a.c === 0), 100);
  const [victim] = workerPids(s);
  process.kill(victim!, 'SIGKILL');
  await until(() => /worker restarted/.test(s.output()), 'the primary restarts it');
  await until(() => workerPids(s).length === 2 && !workerPids(s).includes(victim!), 'two workers again');
  const after = await crowd([s.base], 'kw', Array.from({ length: 500 }, (_, i) => `b${i}`), { concurrency: 20 });
  t.equal(wins(after).length, 300, 'the other 300 units sell, none twice');
  t.match(s.output(), /"worker":\d,"code":null,"signal":"SIGKILL".*"msg":"worker exited: restarting it"/, 'the death is logged');
  await until(async () => ((await (await fetch(`${s.base}/healthz`, { headers: { connection: 'close' } })).json()) as { workers?: { restarts: number } }).workers?.restarts === 1, '/healthz counts the restart');
  t.equal((await scrape(s.base, ADMIN))('seckill_worker_restarts_total'), 1, '/metrics counts it');
  await until(async () => (await dashboardFrame(s.base)).workerRestarts === 1, 'the dashboard shows it');
  const st = await stats(s.base, 'kw');
  t.equal(st.remaining, 0);
  s.child.kill('SIGTERM');
  t.equal(await s.exited, 0, 'and it still shuts down cleanly');
});

t.test('two instances x two workers on one Redis and MariaDB: exact stock, one unit per user, MySQL equal', async (t) => {
  const redis = await testRedis(t);
  const db = await testMysql(t);
  const env = (): Record<string, string> => ({ REDIS_URL: redis.socket, MYSQL_URL: db.url, SECKILL_PERSIST_WAIT_MS: '10' });
  const a = await twoWorkers(t, env());
  const b = await twoWorkers(t, env());
  t.equal((await putEvent(a.base, 'duo', { stock: 1500 })).status, 201);
  await until(async () => (await fetch(`${b.base}/admin/events/duo`, { headers: { authorization: `Bearer ${ADMIN}` } })).status === 200, 'b knows it');
  const users = Array.from({ length: 2500 }, (_, i) => `d${i % 2000}`); // 500 users click twice
  const told = await crowd([a.base, b.base], 'duo', users, { concurrency: 40 });
  const won = wins(told);
  t.equal(won.length, 1500, 'exactly the stock won');
  t.equal(new Set(won.map((x) => x.user)).size, 1500, 'one unit per user');
  t.equal(new Set(won.map((x) => x.order)).size, 1500, 'each order number once');
  const pool = await connectMysql({ url: db.url });
  t.teardown(() => pool.end());
  await until(async () => {
    const [[r]] = await pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM orders WHERE event_id = 'duo'");
    return Number(r?.n) === 1500;
  }, 'MySQL has every order', 30_000, 50);
  const [rows] = await pool.query<RowDataPacket[]>("SELECT user_id, order_no FROM orders WHERE event_id = 'duo'");
  const stored = new Map(rows.map((r) => [String(r.user_id), Number(r.order_no)]));
  t.ok(won.every((x) => stored.get(x.user) === x.order), 'every win is in MySQL with the number its user was told');

  // The whole sale in one view: what the four processes answered, summed, is what the clients were told.
  const byOutcome: Record<string, number> = {};
  for (const x of told) {
    const name = OUTCOMES[x.code]?.name ?? String(x.code);
    byOutcome[name] = (byOutcome[name] ?? 0) + 1;
  }
  // Non-zero counts, keys sorted (comparable as JSON).
  const nonZero = (o: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(o).filter(([, n]) => n > 0).sort(([x], [y]) => x.localeCompare(y)));
  // Once the four copies in Redis hold every answer, any worker of either instance reads the same totals.
  const reader = new Redis({ path: redis.socket });
  t.teardown(() => reader.quit());
  await until(async () => {
    const rows = await published(reader, 'duo');
    const sums = Object.fromEntries(OUTCOMES.map((o) => [o.name, rows.reduce((n, r) => n + r.total(o.code), 0)]));
    return rows.length === 4 && JSON.stringify(nonZero(sums)) === JSON.stringify(nonZero(byOutcome));
  }, 'the four processes published their final counts');
  for (const s of [a, b]) {
    t.same(nonZero((await stats(s.base, 'duo')).outcomes), byOutcome, `admin stats on ${s === a ? 'a' : 'b'}: every answer of every process, by outcome`);
    t.equal((await stats(s.base, 'duo')).processes.length, 4, 'four processes, two per instance');
  }
  const frame = await dashboardFrame(b.base);
  const duo = frame.events.find((e) => e.id === 'duo');
  t.same(nonZero(duo?.answers ?? {}), byOutcome, 'the dashboard shows the same totals');
});

t.test('a sell-out reaches another instance by pub/sub, and it answers "sold out" from memory', async (t) => {
  const redis = await testRedis(t);
  // The periodic refresh is an hour: only the news can tell b.
  const env = { REDIS_URL: redis.socket, SECKILL_EVENT_REFRESH_MS: '3600000' };
  const a = await twoWorkers(t, env);
  const b = await twoWorkers(t, env);
  t.equal((await putEvent(a.base, 'news', { stock: 50 })).status, 201);
  // b learns of the new event through the news too ("changed").
  await until(async () => (await fetch(`${b.base}/admin/events/news`, { headers: { authorization: `Bearer ${ADMIN}` } })).status === 200, 'b knows the event');
  t.equal((await stats(b.base, 'news')).local.remaining, 50);
  const sold = await Promise.all(Array.from({ length: 50 }, (_, i) => buy(a.base, 'news', `n${i}`)));
  const soldAt = Date.now();
  t.equal(count(sold, (x) => x.c === 0), 50, 'a sold it out');
  await until(async () => (await stats(b.base, 'news')).local.remaining === 0, 'b learns it', 5_000, 1);
  t.comment(`the sell-out reached the other instance in ${Date.now() - soldAt} ms (including a few admin round trips)`);
  const late = await Promise.all(Array.from({ length: 20 }, (_, i) => buy(b.base, 'news', `late${i}`)));
  t.ok(late.every((x) => x.c === 1), 'b answers sold out');
  let m = await scrape(b.base, ADMIN);
  await until(async () => (m = await scrape(b.base, ADMIN))('seckill_decisions_total', { outcome: 'sold_out' }) === 20, 'both workers published their counts');
  // Each worker of b reads a's buyers once (it must know every winner before it says "sold out" from memory);
  // meanwhile a buy goes to Redis, which answers 1 or 2.
  const asked = m('seckill_decisions_total', { channel: 'http', stage: 'redis', outcome: 'sold_out' }) ?? 0;
  t.ok(asked <= 20, `some asked Redis (${asked}) while the winners were read`);
  const later = await Promise.all(Array.from({ length: 20 }, (_, i) => buy(b.base, 'news', `later${i}`)));
  t.ok(later.every((x) => x.c === 1), 'b answers sold out');
  let m2 = await scrape(b.base, ADMIN);
  await until(async () => (m2 = await scrape(b.base, ADMIN))('seckill_decisions_total', { outcome: 'sold_out' }) === 40, 'counts published');
  t.equal(m2('seckill_decisions_total', { channel: 'http', stage: 'redis', outcome: 'sold_out' }) ?? 0, asked, 'then all from memory, on every worker');
});

t.test('an expired order is refused with 12 on every worker, not "already bought"', async (t) => {
  const s = await twoWorkers(t);
  t.equal((await putEvent(s.base, 'due', { stock: 5, payWithin: 1 })).status, 201);
  const won = await buy(s.base, 'due', 'late-payer');
  t.equal(won.c, 0, 'won, due within a second');
  // Every worker learns the win (winners broadcast): the repeat clicks are "already bought" from memory.
  const before = await Promise.all(Array.from({ length: 10 }, () => buy(s.base, 'due', 'late-payer')));
  t.ok(before.every((a) => a.c === 2), 'already bought while due');
  const order = async (): Promise<string | undefined> => {
    const res = await fetch(`${s.base}/events/due/order`, { headers: { authorization: `Bearer ${token('late-payer')}` } });
    return ((await res.json()) as { p?: string }).p;
  };
  await until(async () => (await order()) === 'expired', 'the order expires unpaid', 5_000, 50);
  const after = await Promise.all(Array.from({ length: 20 }, () => buy(s.base, 'due', 'late-payer')));
  t.same([...new Set(after.map((a) => `${a.c}/${a.o}`))], [`12/${won.o}`], 'every click, whichever worker: 12 with the old order number');
});
