import { Redis } from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import t, { type Test } from 'tap';
import { eventKeys } from '../src/redis/keys';
import { ADMIN, buy, putEvent } from './helpers/app';
import { crowd, wins, type Told } from './helpers/crowd';
import { freeze, spawnServer, type ServerProcess } from './helpers/process';
import { sharedStack } from './helpers/shared-stack';
import { until } from './helpers/wait';

/**
 * The pause switch under faults, on real processes (test/pause.test.ts has
 * the switch itself): MySQL failing or Redis stalling in the middle of a
 * pause, a Redis loss after it, a restart, a pause sent while a restore
 * runs, and pauses and resumes toggled fast under a crowd on two instances.
 * The promise checked throughout: Redis and MySQL never disagree in the
 * direction that reopens a paused sale after a restore, and no order is
 * decided between a pause and the next resume.
 */

interface PauseAnswer {
  status: number;
  body: { result?: string; paused?: boolean; orders?: number; c?: number; error?: string };
}

async function admin(base: string, path: string): Promise<PauseAnswer> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
  return { status: res.status, body: (await res.json()) as PauseAnswer['body'] };
}

interface Stack {
  readonly redisPid: number;
  readonly r: Redis;
  readonly pool: Pool;
  readonly env: (extra?: Record<string, string>) => Record<string, string>;
}

/** A redis-server and a mariadbd of the test's own (test/helpers/shared-stack.ts), and the environment of a server on them. */
async function stack(t: Test): Promise<Stack> {
  const s = await sharedStack(t);
  return { redisPid: s.local.pid, r: s.redis, pool: s.pool, env: (extra = {}) => s.env({ SECKILL_WORKERS: '1', ...extra }) };
}

async function redisPaused(s: Stack, id: string): Promise<boolean> {
  return (await s.r.hget(eventKeys(id).meta, 'paused')) !== null;
}

async function mysqlPaused(s: Stack, id: string): Promise<boolean> {
  const [rows] = await s.pool.query<RowDataPacket[]>('SELECT paused_since_ms FROM event_pauses WHERE event_id = ?', [id]);
  return rows[0]?.paused_since_ms != null;
}

async function storedOrders(s: Stack, id: string): Promise<{ n: number; users: number; max: number }> {
  const [rows] = await s.pool.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n, COUNT(DISTINCT user_id) AS users, COALESCE(MAX(order_no), 0) AS max FROM orders WHERE event_id = ?',
    [id],
  );
  return { n: Number(rows[0]?.n), users: Number(rows[0]?.users), max: Number(rows[0]?.max) };
}

/** A test trigger's SLEEP(1.5) is holding a write to the pause's row. */
async function sleeping(s: Stack): Promise<boolean> {
  const [rows] = await s.pool.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS n FROM information_schema.processlist WHERE state = 'User sleep' AND info LIKE '%SLEEP(1.5)%'",
  );
  return Number(rows[0]?.n) > 0;
}

/** Pauses `event` through `a`; once a test trigger holds the pause in `where`, freezes Redis until the call is answered. */
async function pauseWhileRedisFrozen(s: Stack, a: ServerProcess, event: string, where: string): Promise<PauseAnswer> {
  const pausing = admin(a.base, `/admin/events/${event}/pause`);
  await until(() => sleeping(s), `the pause held in ${where}`, 10_000, 5);
  await freeze(s.redisPid);
  try {
    return await pausing;
  } finally {
    process.kill(s.redisPid, 'SIGCONT');
  }
}

/** Redis loses everything; resolves once the server restored the event from MySQL (its refresh finds it gone). */
async function loseRedis(s: Stack, id: string): Promise<void> {
  await s.r.flushall();
  await until(async () => {
    const [stock, restoring] = await s.r.hmget(eventKeys(id).meta, 'stock', 'restoring');
    return stock !== null && restoring === null;
  }, `${id} restored from MySQL`, 20_000, 20);
}

t.test('MySQL refusing the write of a pause leaves no half state: Redis is not paused behind its back', async (t) => {
  const s = await stack(t);
  const a = await spawnServer(t, s.env());
  t.equal((await putEvent(a.base, 'pm', { stock: 10 })).status, 201);
  t.match(await buy(a.base, 'pm', 'before'), { c: 0, o: 1 });
  await until(async () => (await storedOrders(s, 'pm')).n === 1, 'the win stored in MySQL', 10_000, 20);
  // MySQL refuses to record a pause (as a failing disk or a lost connection would, at that statement).
  await s.pool.query(`CREATE TRIGGER pm_refuse BEFORE INSERT ON event_pauses FOR EACH ROW BEGIN
    IF NEW.paused_since_ms IS NOT NULL THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF;
  END`);
  const failed = await admin(a.base, '/admin/events/pm/pause');
  t.match(failed, { status: 503, body: { c: 10 } }, 'the pause fails: 503, code 10');
  t.equal(await redisPaused(s, 'pm'), await mysqlPaused(s, 'pm'), 'Redis is paused only if MySQL keeps it');
  await s.pool.query('DROP TRIGGER pm_refuse');
  t.equal(await redisPaused(s, 'pm'), false, 'the failed pause changed nothing');
  // A restore after Redis lost the event brings back the sale as it was: open.
  await loseRedis(s, 'pm');
  t.match(await buy(a.base, 'pm', 'after'), { c: 0, o: 2 }, 'after the loss the sale goes on as it did');
});

t.test('a pause whose Redis call gets no answer is kept by MySQL: Redis may still run it', async (t) => {
  const s = await stack(t);
  const a = await spawnServer(t, s.env());
  t.equal((await putEvent(a.base, 'pt', { stock: 10 })).status, 201);
  // The first write of a pause to the row is held 1.5 s: long enough to freeze Redis before the pause reaches it.
  await s.pool.query(`CREATE TRIGGER pt_slow BEFORE INSERT ON event_pauses FOR EACH ROW BEGIN
    IF NEW.paused_since_ms IS NOT NULL THEN SET @slept = SLEEP(1.5); END IF;
  END`);
  const answer = await pauseWhileRedisFrozen(s, a, 'pt', 'its first write to the row');
  await s.pool.query('DROP TRIGGER pt_slow');
  t.match(answer, { status: 503, body: { c: 10 } }, 'no answer from Redis: 503, code 10');
  // Redis runs the script it had received once it goes on: the sale is paused after all.
  await until(() => redisPaused(s, 'pt'), 'Redis ran the pause late', 5_000, 10);
  t.ok(await mysqlPaused(s, 'pt'), 'and MySQL keeps it');
  await loseRedis(s, 'pt');
  t.ok(await redisPaused(s, 'pt'), 'a restore after a Redis loss keeps the sale paused');
  t.match(await buy(a.base, 'pt', 'u1'), { c: 16 }, 'a buy answers 16');
  t.equal((await admin(a.base, '/admin/events/pt/resume')).body.result, 'done', 'a resume makes the two agree');
  t.notOk(await mysqlPaused(s, 'pt'), 'MySQL resumed');
  t.match(await buy(a.base, 'pt', 'u1'), { c: 0, o: 1 });
});

t.test('Redis stalling just after the pause was kept does not turn it into a 503', async (t) => {
  const s = await stack(t);
  const a = await spawnServer(t, s.env());
  t.equal((await putEvent(a.base, 'ps', { stock: 10 })).status, 201);
  // The row's last write (Redis' values, after Redis paused) is held 1.5 s: Redis is frozen meanwhile, so the
  // re-read that follows the commit gets no answer.
  await s.pool.query(`CREATE TRIGGER ps_slow BEFORE UPDATE ON event_pauses FOR EACH ROW BEGIN
    IF NEW.paused_since_ms IS NOT NULL AND OLD.paused_since_ms IS NOT NULL THEN SET @slept = SLEEP(1.5); END IF;
  END`);
  const answer = await pauseWhileRedisFrozen(s, a, 'ps', 'its last write to the row');
  await s.pool.query('DROP TRIGGER ps_slow');
  t.match(answer, { status: 200, body: { result: 'done', paused: true } }, 'the pause is answered done');
  t.ok((await redisPaused(s, 'ps')) && (await mysqlPaused(s, 'ps')), 'it is in Redis and in MySQL');
  t.match(await buy(a.base, 'ps', 'u1'), { c: 16 }, 'a buy answers 16');
});

t.test('paused through kill -9 of the server and a start on an emptied Redis', async (t) => {
  const s = await stack(t);
  const a = await spawnServer(t, s.env({ SECKILL_WORKERS: '2' }));
  t.equal((await putEvent(a.base, 'pk', { stock: 10 })).status, 201);
  t.equal((await admin(a.base, '/admin/events/pk/pause')).body.result, 'done');
  a.child.kill('SIGKILL');
  await a.exited;
  const b = await spawnServer(t, s.env({ SECKILL_WORKERS: '2' }));
  t.match(await buy(b.base, 'pk', 'u1'), { c: 16 }, 'restarted: still paused');
  b.child.kill('SIGKILL');
  await b.exited;
  await s.r.flushall();
  // The start warms the event from MySQL, switch and all.
  const c = await spawnServer(t, s.env({ SECKILL_WORKERS: '2' }));
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => buy(c.base, 'pk', `u${i}`)));
  t.same(new Set(answers.map((x) => x.c)), new Set([16]), 'started on an emptied Redis: every buy, on both workers, answers 16');
  t.equal(Number(await s.r.get(eventKeys('pk').seq)), 0, 'no order decided');
});

t.test('a pause sent while a restore from MySQL runs takes effect before the restored sale opens', async (t) => {
  const s = await stack(t);
  // A restore of 100,000 orders outlasts a 1 s MySQL timeout.
  const a = await spawnServer(t, s.env({ SECKILL_MYSQL_TIMEOUT_MS: '1000' }));
  const n = 100_000;
  t.equal((await putEvent(a.base, 'pr', { stock: n + 1000 })).status, 201);
  await s.pool.query(`INSERT INTO orders (event_id, order_no, user_id, created) SELECT 'pr', seq, CONCAT('old', seq), NOW(3) FROM seq_1_to_${n}`);
  await s.r.flushall();
  let stop = false;
  const told: Told[] = [];
  const buyers = crowd([a.base], 'pr', Array.from({ length: 2_000 }, (_, i) => `f${i}`), {
    concurrency: 8,
    timeoutMs: 60_000,
    onAnswer: (x) => told.push(x),
    done: () => stop,
  });
  t.teardown(() => {
    stop = true;
  });
  await until(async () => (await s.r.hget(eventKeys('pr').meta, 'restoring')) !== null, 'the restore under way', 20_000, 5);
  const pause = await admin(a.base, '/admin/events/pr/pause');
  await until(async () => (await s.r.hget(eventKeys('pr').meta, 'restoring')) === null, 'the restore done', 30_000, 20);
  stop = true;
  await buyers;
  const won = wins(told);
  t.equal(pause.status, 200, `the pause sent during the restore is done: ${JSON.stringify(pause.body)}`);
  t.same(won.map((x) => x.order), [], 'no order decided after the restore');
});

t.test('pause and resume toggled every 20-50 ms under a crowd on two instances (2 workers and 1)', async (t) => {
  const s = await stack(t);
  const a = await spawnServer(t, s.env({ SECKILL_WORKERS: '2' }));
  const b = await spawnServer(t, s.env());
  const stock = 1_500;
  t.equal((await putEvent(a.base, 'pf', { stock })).status, 201);
  await until(async () => (await fetch(`${b.base}/events/pf`)).status === 200, 'b knows the event', 10_000, 20);

  // 30 toggles, each after the previous one's answer, through a and b in turn (their answers come in Redis' order),
  // while a crowd buys through both; the crowd stops with the toggling, the last toggle a resume.
  const toggles: { on: boolean; answer: PauseAnswer }[] = [];
  let toggling = true;
  const users = Array.from({ length: 8_000 }, (_, i) => `c${i}`);
  const buying = crowd([a.base, b.base], 'pf', users, { concurrency: 48, timeoutMs: 60_000, done: () => !toggling });
  for (let i = 0; i < 30; i++) {
    const on = i % 2 === 0;
    const server: ServerProcess = i % 4 < 2 ? a : b;
    toggles.push({ on, answer: await admin(server.base, `/admin/events/pf/${on ? 'pause' : 'resume'}`) });
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
  }
  toggling = false;
  const first = await buying;

  const windows: string[] = [];
  const pausedAt = new Set<number>();
  let paused: number | undefined;
  for (const { on, answer } of toggles) {
    if (answer.body.result !== 'done') continue;
    if (on) pausedAt.add((paused = answer.body.orders ?? -1));
    else if (paused !== undefined) {
      if (answer.body.orders !== paused) windows.push(`paused at ${paused}, resumed at ${answer.body.orders}`);
      paused = undefined;
    }
  }
  t.same(toggles.filter((x) => x.answer.status !== 200 || x.answer.body.result !== 'done'), [], 'every pause and resume answered 200, done');
  t.ok(pausedAt.size >= 3, `paused mid-sale, at orders ${[...pausedAt].join(', ')}`);
  t.same(windows, [], 'no order decided between a pause and the next resume');
  t.ok(first.some((x) => x.code === 16), 'the crowd heard 16');
  // Resumed for good: every user without a unit clicks again, and the rest of the stock sells.
  const won = new Set(wins(first).map((x) => x.user));
  const second = await crowd([a.base, b.base], 'pf', users.filter((u) => !won.has(u)), { concurrency: 48, timeoutMs: 60_000 });
  t.same(second.filter((x) => x.code === 16), [], 'after the last resume nobody hears 16');
  const sold = wins([...first, ...second]);
  t.equal(sold.length, stock, 'the sale resumed exactly: every unit sold');
  t.equal(new Set(sold.map((x) => x.user)).size, stock, 'one per user');
  t.equal(new Set(sold.map((x) => x.order)).size, stock, 'each order number once');
  await until(async () => (await storedOrders(s, 'pf')).n === stock, 'every order stored in MySQL', 20_000, 50);
  t.same(await storedOrders(s, 'pf'), { n: stock, users: stock, max: stock }, 'MySQL holds the same');
  t.notOk(await mysqlPaused(s, 'pf'), 'left resumed in MySQL too');
});
