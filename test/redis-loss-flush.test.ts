import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import t, { type Test } from 'tap';
import { connectMysql } from '../src/orders/mysql';
import { ADMIN, putEvent, SECRET } from './helpers/app';
import { crowd, wins, type Told } from './helpers/crowd';
import { CLI, spawnServer, type ServerProcess } from './helpers/process';
import { tempDir, testMysql, testRedis } from './helpers/services';
import { until } from './helpers/wait';

/**
 * Fault injection (Redis loss): three servers without a persister of
 * their own, one standalone `seckill persister` that is SIGKILLed and
 * restarted, and Redis flushed three times during one sale.
 */

interface Stack {
  readonly redis: Redis;
  readonly pool: Pool;
  readonly env: Record<string, string>;
  start(): Promise<ServerProcess>;
  persister(): { child: ChildProcess; exited: Promise<unknown> };
}

async function stack(t: Test): Promise<Stack> {
  const local = await testRedis(t);
  const db = await testMysql(t);
  const redis = new Redis({ path: local.socket });
  t.teardown(() => redis.disconnect());
  const pool = await connectMysql({ url: db.url });
  t.teardown(() => pool.end());
  const env = {
    REDIS_URL: local.socket,
    MYSQL_URL: db.url,
    SECKILL_JWT_SECRET: SECRET,
    SECKILL_ADMIN_TOKEN: ADMIN,
    SECKILL_EVENT_REFRESH_MS: '100',
    SECKILL_PERSIST_WAIT_MS: '10',
  };
  const pdir = tempDir(t, 'sk-p-');
  const persister = (): { child: ChildProcess; exited: Promise<unknown> } => {
    const child = spawn(process.execPath, [CLI, 'persister'], {
      env: { ...process.env, ...env, SECKILL_DATA_DIR: pdir },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const exited = once(child, 'exit');
    t.teardown(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    });
    return { child, exited };
  };
  return {
    redis,
    pool,
    env: { ...env, SECKILL_PERSISTER: 'false' },
    start: () => spawnServer(t, { ...env, SECKILL_PERSISTER: 'false', SECKILL_DATA_DIR: tempDir(t) }),
    persister,
  };
}

t.test('three FLUSHALLs in one sale, three servers, standalone persister SIGKILLed and restarted', async (t) => {
  const s = await stack(t);
  const servers = [await s.start(), await s.start(), await s.start()];
  let p = s.persister();
  const stock = 2000;
  t.equal((await putEvent((servers[0] as ServerProcess).base, 'tri', { stock })).status, 201);
  for (const sv of servers) {
    await until(async () => (await fetch(`${sv.base}/admin/events/tri`, { headers: { authorization: `Bearer ${ADMIN}` } })).status === 200, 'known');
  }
  const losses: number[] = [];
  const marks = [300, 700, 1100];
  const kills = [150, 500, 900, 1300];
  let busy = false;
  const told = await crowd(servers.map((x) => x.base), 'tri', Array.from({ length: 3600 }, (_, i) => `t${i}`), {
    concurrency: 30,
    timeoutMs: 120_000,
    onAnswer: (_x, sold) => {
      if (busy) return;
      if (marks.length > 0 && sold >= (marks[0] as number)) {
        marks.shift();
        busy = true;
        losses.push(Date.now());
        void s.redis.flushall().finally(() => (busy = false));
      } else if (kills.length > 0 && sold >= (kills[0] as number)) {
        kills.shift();
        busy = true;
        p.child.kill('SIGKILL');
        void p.exited.then(() => {
          p = s.persister();
          busy = false;
        });
      }
    },
  });
  t.equal(losses.length, 3, 'three flushes');
  await until(async () => (await s.redis.xlen('sk:{tri}:orders')) === 0, 'drained', 60_000, 50);
  const [rows] = await s.pool.query<RowDataPacket[]>('SELECT user_id, order_no FROM orders WHERE event_id = ?', ['tri']);
  const stored = new Map(rows.map((r) => [String(r.user_id), Number(r.order_no)]));
  const [[c]] = await s.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM order_conflicts WHERE event_id = ?', ['tri']);
  t.equal(stored.size, stock, 'MySQL holds exactly the stock');
  t.equal(await s.redis.hlen('sk:{tri}:buyers'), stored.size, 'Redis buyers = MySQL orders');
  t.equal(Number(c?.n), 0, 'no conflict');
  t.equal(told.filter((x) => x.code === 7).length, 0, 'nobody told 7');
  const last = losses[losses.length - 1] as number;
  const after = wins(told).filter((x) => x.sent > last);
  t.same(after.filter((x) => stored.get(x.user) !== x.order).slice(0, 5), [], `every win after the last loss is stored (${after.length})`);
  const byNo = new Map<number, string>();
  const twice: Told[] = [];
  for (const x of wins(told)) {
    const o = byNo.get(x.order);
    if (o !== undefined && o !== x.user && stored.get(x.user) === x.order) twice.push(x);
    byNo.set(x.order, x.user);
  }
  t.comment(`wins told: ${wins(told).length}; numbers reused across losses (stored for the later user): ${twice.length}`);
  const lostTold = wins(told).filter((x) => stored.get(x.user) !== x.order);
  t.comment(`told won but not stored (the documented window): ${lostTold.length}`);
  for (const at of losses) t.comment(`loss at ${at}: lost wins answered within 1 s before it: ${lostTold.filter((x) => x.at <= at && x.at > at - 1000).length}, answered > 1 s before it: ${lostTold.filter((x) => x.at <= at - 1000).length}`);
  const rec = spawnSync(process.execPath, [CLI, 'reconcile', 'tri'], { env: { ...process.env, ...s.env, SECKILL_DATA_DIR: tempDir(t) }, encoding: 'utf8' });
  t.comment(rec.stdout);
  t.equal(rec.status, 0, 'reconcile finds nothing wrong');
});
