import http from 'node:http';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import t, { type Test } from 'tap';
import { connectMysql } from '../src/orders/mysql';
import { freePort } from '../src/server/workers';
import { ADMIN, putEvent, SECRET, token } from './helpers/app';
import { FaultyServer } from './helpers/faults';
import { cli } from './helpers/process';
import { tempDir } from './helpers/services';
import { until } from './helpers/wait';

/**
 * Issue 20, "every answer true", under faults: a crowd larger than the stock
 * buys from a real server (its own redis-server and mariadbd, with 1 and
 * with 2 workers) while a worker is killed (also while Redis does not
 * answer, so its replacement cannot start at once), the primary is killed
 * and started again on the same data and port, redis-server stops for
 * longer than the command timeout and than the queue deadline, and is
 * killed, and clients leave mid-request. Every user retries 5, 6, 10 and
 * network errors until it hears 0, 1 or 2, now and then from two tabs at
 * once; a few regulars click on until the faults are over. Then every
 * answer is checked against Redis and MySQL, everyone clicks once more, and
 * nothing may be left parked or running.
 *
 * To hunt: FC_PLAN replaces the faults (see test/helpers/faults.ts),
 * FC_WORKERS the worker counts (`1,2`; empty: none), FC_DEBUG prints progress
 * and keeps each server's log in the temp folder.
 */

const STOCK = 400;
const USERS = 1_200;
/** Users who click on after their final answer until the faults are over. */
const REGULARS = 40;
/** Users whose only request is aborted mid-flight: they hear nothing until the final click. */
const QUITTERS = 40;
const CONCURRENCY = 200;
/** Longer than a request may take (queue deadline 2 s, Redis timeout 300 ms): an answer later than this is a hang. */
const HANG_MS = 8_000;
const EVENT = 'fc';
const PLAN = [
  'b40:stall1500',
  'b100:killw',
  // A worker dies while Redis does not answer: its replacement cannot start until Redis is back.
  'b140:stop',
  'w300',
  'bg-killw',
  'w1500',
  'cont',
  'b220:killp',
  'b280:killr',
  // Longer than the queue deadline: the batch in flight is answered 6, then decided.
  'b330:stall2500',
  // Sold out: the winners' and the losers' clicks after a death and a stall.
  `b${STOCK}:killw`,
  'w300',
  'stall1000',
  'w1000',
];
const FINAL = [0, 1, 2];
const RETRY = [5, 6, 10];

interface Told {
  readonly user: string;
  readonly code: number;
  readonly order: number;
  /** Date.now() when the request was sent / the answer arrived. */
  readonly sent: number;
  readonly at: number;
}

type Role = 'quitter' | 'regular' | 'buyer';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo));

/** One buy on a fresh connection (SO_REUSEPORT spreads fresh connections over the workers). */
function freshBuy(base: string, user: string): Promise<{ c: number; o?: number }> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${token(user)}`, connection: 'close' };
    const req = http.request(`${base}/events/${EVENT}/buy`, { method: 'POST', agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as { c: number; o?: number });
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.setTimeout(HANG_MS, () => req.destroy(new Error('no answer')));
    req.on('error', reject);
    req.end();
  });
}

interface Stats {
  readonly queue: { readonly waiting: number; readonly parked: number };
  readonly local: { readonly reserved: number; readonly queuedUsers: number };
}

async function adminStats(base: string): Promise<Stats> {
  const res = await fetch(`${base}/admin/events/${EVENT}`, { headers: { authorization: `Bearer ${ADMIN}`, connection: 'close' } });
  return (await res.json()) as Stats;
}

async function faultCrowd(t: Test, workers: number): Promise<void> {
  const dir = tempDir(t);
  const env = {
    SECKILL_DATA_DIR: dir,
    REDIS_URL: '',
    MYSQL_URL: '',
    SECKILL_JWT_SECRET: SECRET,
    SECKILL_ADMIN_TOKEN: ADMIN,
    SECKILL_WORKERS: String(workers),
    // A stall of 1.5 s is five command timeouts; the queue deadline stays at 2 s.
    SECKILL_REDIS_TIMEOUT_MS: '300',
    // Slow enough that the sale lasts through the faults, and a queue the crowd fills ("busy" too); shared by the workers.
    SECKILL_QUEUE_RATE: '150',
    SECKILL_QUEUE_BURST: '20',
    SECKILL_QUEUE_CAPACITY: '120',
    SECKILL_EVENT_REFRESH_MS: '500',
    SECKILL_PERSIST_CLAIM_MS: '1000',
    // One port for every start, as behind a real address: a restart is a moment of refused connections.
    PORT: String(await freePort('127.0.0.1')),
  };
  const faults = await FaultyServer.start(t, dir, env);
  const base = faults.server.base;
  t.equal((await putEvent(base, EVENT, { stock: STOCK })).status, 201, `event of ${STOCK} units`);

  // An observer of Redis, apart from the server's connections.
  const observer = new Redis({ path: path.join(dir, 'redis', 'redis.sock'), commandTimeout: 1_000, maxRetriesPerRequest: 1, lazyConnect: true });
  observer.on('error', () => undefined);
  await observer.connect();
  t.teardown(() => observer.disconnect());
  const keys = { stock: `sk:{${EVENT}}:stock`, buyers: `sk:{${EVENT}}:buyers`, seq: `sk:{${EVENT}}:seq` };
  const buyers = (): Promise<number> => observer.hlen(keys.buyers).catch(() => -1);

  const told: Told[] = [];
  const odd: string[] = [];
  let chaosDone = false;
  let aborted = 0;
  let networkErrors = 0;
  const started = Date.now();
  const progress = process.env.FC_DEBUG
    ? setInterval(() => {
        const by: Record<number, number> = {};
        for (const x of told) by[x.code] = (by[x.code] ?? 0) + 1;
        process.stderr.write(`crowd: ${((Date.now() - started) / 1000).toFixed(1)}s ${told.length} answers ${JSON.stringify(by)}, ${aborted} left, ${networkErrors} network errors\n`);
      }, 1_000)
    : undefined;
  t.teardown(() => clearInterval(progress));

  /** One request; its answer (recorded), or undefined when the client left or the connection failed. */
  const click = async (user: string, leave: boolean): Promise<{ c: number; o?: number } | undefined> => {
    const controller = new AbortController();
    // Gone before the request is parked, or while it waits for its batch or for Redis.
    const leaveTimer = leave ? setTimeout(() => controller.abort(), Math.random() < 0.5 ? rand(1, 40) : rand(100, 2_500)) : undefined;
    const hangTimer = setTimeout(() => controller.abort(new Error('hang')), HANG_MS);
    const sent = Date.now();
    try {
      const res = await fetch(`${base}/events/${EVENT}/buy`, { method: 'POST', headers: { authorization: `Bearer ${token(user)}` }, signal: controller.signal });
      const answer = (await res.json()) as { c: number; o?: number };
      told.push({ user, code: answer.c, order: answer.o ?? 0, sent, at: Date.now() });
      if (!FINAL.includes(answer.c) && !RETRY.includes(answer.c)) odd.push(`${user}: code ${answer.c}`);
      return answer;
    } catch {
      if (controller.signal.reason instanceof Error && controller.signal.reason.message === 'hang') odd.push(`${user}: no answer in ${HANG_MS} ms`);
      else if (leave) aborted++;
      else networkErrors++;
      return undefined;
    } finally {
      clearTimeout(leaveTimer);
      clearTimeout(hangTimer);
    }
  };

  /** One user: clicks until a final answer, now and then from two tabs at once, now and then leaving mid-request. */
  const session = async (user: string, role: Role): Promise<void> => {
    const tabs: Promise<unknown>[] = [];
    let backoff = 20;
    while (faults.unexpected.length === 0) {
      if (role !== 'quitter' && Math.random() < 0.1) tabs.push(click(user, false));
      const answer = await click(user, role === 'quitter' || Math.random() < 0.08);
      if (answer === undefined && role === 'quitter') break;
      if (answer !== undefined && FINAL.includes(answer.c)) {
        if (role !== 'regular' || chaosDone) break;
        await sleep(rand(100, 300));
        continue;
      }
      await sleep(rand(backoff, backoff * 2));
      backoff = answer === undefined ? Math.min(backoff * 2, 200) : 20;
    }
    await Promise.all(tabs);
  };

  const users = Array.from({ length: USERS }, (_, i) => `u${i}`);
  const roleOf = (i: number): Role => (i % 30 === 7 && i < 30 * QUITTERS ? 'quitter' : i % 30 === 3 && i < 30 * REGULARS ? 'regular' : 'buyer');
  const line = users.map((u, i) => [u, roleOf(i)] as const);
  const crowd = Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let next = line.shift(); next !== undefined; next = line.shift()) await session(...next);
    }),
  );
  const plan = process.env.FC_PLAN?.split(',') ?? PLAN;
  await Promise.all([crowd, faults.run(plan, buyers).finally(() => (chaosDone = true))]);
  const byCode: Record<number, number> = {};
  for (const x of told) byCode[x.code] = (byCode[x.code] ?? 0) + 1;
  t.comment(`faults:\n  ${faults.done.join('\n  ')}`);
  t.comment(`${told.length} answers in ${((Date.now() - started) / 1000).toFixed(1)} s ${JSON.stringify(byCode)}; ${aborted} requests left mid-flight, ${networkErrors} network errors`);
  t.same(faults.unexpected, [], 'no server exited unless told to');
  t.same(odd, [], 'every answer 0, 1, 2, 5, 6 or 10, none later than the hang limit');

  // What Redis holds: exactly the stock sold, each order number once.
  const owned = new Map(Object.entries(await observer.hgetall(keys.buyers)).map(([u, o]) => [u, Number(o)]));
  const remaining = Number(await observer.get(keys.stock));
  t.equal(owned.size, STOCK, 'units sold (buyers) == stock');
  t.equal(remaining, 0, 'nothing left');
  t.equal(Number(await observer.get(keys.seq)), STOCK, 'order counter == stock: no number spent twice');
  t.same([...owned.values()].sort((a, b) => a - b), Array.from({ length: STOCK }, (_, i) => i + 1), 'order numbers 1..stock, each once');

  // Every answer, not only the last.
  const wins = told.filter((x) => x.code === 0);
  const falseOrders = told.filter((x) => (x.code === 0 || x.code === 2) && owned.get(x.user) !== x.order);
  t.same(falseOrders.slice(0, 10), [], `every "won" and "already bought" names the order Redis holds for that user (${falseOrders.length} do not)`);
  t.equal(new Set(wins.map((x) => x.user)).size, wins.length, 'nobody told "won" twice');
  const soldOutToBuyers = told.filter((x) => x.code === 1 && owned.has(x.user));
  t.same(soldOutToBuyers.slice(0, 10), [], `nobody holding an order is told "sold out" (${soldOutToBuyers.length} were)`);
  // Units only go (no payment deadline here): a unit won by a request sent after someone heard "sold out" was there when they heard it.
  const firstSoldOut = Math.min(...told.filter((x) => x.code === 1).map((x) => x.at));
  const laterWins = wins.filter((x) => x.sent > firstSoldOut);
  t.same(laterWins.slice(0, 10), [], `no unit won by a request sent after someone heard "sold out" (${laterWins.length})`);

  // The last answer that matters is the last final one (with two tabs a retry code may come after it).
  const last = new Map<string, Told>();
  for (const x of told) if (FINAL.includes(x.code) && ((last.get(x.user)?.at ?? -1) <= x.at)) last.set(x.user, x);
  t.same(users.filter((u, i) => roleOf(i) !== 'quitter' && !last.has(u)), [], 'every user but the quitters heard 0, 1 or 2');
  t.ok([...last.values()].every((x) => x.code !== 1) || remaining === 0, 'nobody\'s last answer is "sold out" while units remain');

  // The next clicks, by everyone (the quitters too), on fresh connections: holders hear 2 with their order, the rest 1.
  const clickers = [...users];
  const wrong: string[] = [];
  let retried = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      for (let u = clickers.shift(); u !== undefined; u = clickers.shift()) {
        const mine = owned.get(u);
        for (let k = 0; k < (mine === undefined ? 2 : 4); k++) {
          let a = await freshBuy(base, u).catch((err: Error) => ({ c: -1, o: err.message }));
          // A client retries 5, 6 and 10; the answer it ends with must be true.
          for (let i = 0; i < 20 && RETRY.includes(a.c); i++, retried++) a = await freshBuy(base, u).catch((err: Error) => ({ c: -1, o: err.message }));
          if (mine === undefined ? a.c !== 1 : a.c !== 2 || a.o !== mine) wrong.push(`${u} (order ${mine ?? 'none'}, last told ${JSON.stringify(last.get(u) ?? 'nothing')}): ${JSON.stringify(a)}`);
        }
      }
    }),
  );
  t.same(wrong.slice(0, 10), [], `the next clicks: holders 2 + their order, everyone else 1, on every worker (${wrong.length} wrong, ${retried} retried)`);

  // Nothing parked, waiting or reserved once the crowd is gone (a dead process's published counts read as gone after 5 s).
  await until(async () => {
    const st = await adminStats(base);
    return st.queue.parked === 0 && st.queue.waiting === 0;
  }, 'nothing parked or waiting in any live process', 15_000, 200);
  for (let i = 0; i < 6; i++) {
    const st = await adminStats(base);
    t.same([st.local.reserved, st.local.queuedUsers], [0, 0], 'no reservation and no queued user left in the answering process');
  }

  // Still selling, and exactly: a second sale on the processes that lived through the faults (a queue that leaked
  // its count of followers or standbys would answer "busy" for ever; sold out, the first sale no longer asks it).
  t.equal((await putEvent(base, 'fc2', { stock: 50 })).status, 201, 'a second event');
  const second = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      for (let attempt = 0; attempt < 200; attempt++) {
        const res = await fetch(`${base}/events/fc2/buy`, { method: 'POST', headers: { authorization: `Bearer ${token(`v${i}`)}`, connection: 'close' } });
        const a = (await res.json()) as { c: number };
        if (!RETRY.includes(a.c)) return a.c;
        await sleep(rand(20, 40));
      }
      return -1;
    }),
  );
  t.same([second.filter((c) => c === 0).length, second.filter((c) => c === 1).length], [50, 50], `the second sale: 50 won, 50 sold out (${JSON.stringify(second.filter((c) => c !== 0 && c !== 1))} else)`);

  // MySQL, once the persister caught up: the same orders; reconcile finds nothing to say.
  const pool = await connectMysql({ socket: path.join(dir, 'mariadb', 'mysqld.sock') });
  t.teardown(() => pool.end());
  const stored = new Map<string, number>();
  await until(async () => {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT user_id, order_no FROM orders WHERE event_id = ?', [EVENT]);
    stored.clear();
    for (const r of rows) stored.set(String(r.user_id), Number(r.order_no));
    return stored.size >= STOCK;
  }, 'MySQL has every order', 30_000, 100);
  t.same([...stored].sort(), [...owned].sort(), 'MySQL holds the orders Redis granted, user for user');
  const [[conflicts]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM order_conflicts');
  t.equal(Number(conflicts?.n), 0, 'no order conflict');
  const rec = await cli(['reconcile', EVENT], env);
  t.equal(rec.code, 0, `reconcile is clean:\n${rec.out}`);

  // A graceful stop leaves nothing running: no node process (the killed primaries' workers too), redis-server or mariadbd.
  t.equal(await faults.stop(), 0, 'the last server stops cleanly');
  t.same(await faults.leftBehind(), [], `no process left behind (${faults.pids.size} seen, ${faults.starts} server starts)`);
}

for (const workers of (process.env.FC_WORKERS ?? '1,2').split(',').filter(Boolean).map(Number)) {
  t.test(`workers=${workers}: a crowd through worker and primary deaths, Redis stalls and clients leaving: every answer true`, (t) => faultCrowd(t, workers));
}
