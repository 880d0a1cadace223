/**
 * Persister throughput: how fast won orders move from a Redis stream into
 * MariaDB. Fills an event's stream with N orders through the real buy script,
 * then times the real Persister draining it; in the same run, times the
 * naive way (one INSERT and one XACK per order, autocommit) on a slice, and
 * prints the ratio. Everything runs on local redis-server and mariadbd
 * started by the project's launcher in a temporary folder.
 *
 *   npm run bench:persister [-- --orders 100000 --batch 1000 --naive 5000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { Catalog } from '../src/events/catalog';
import { Persister, GROUP } from '../src/orders/persister';
import { connectMysql } from '../src/orders/mysql';
import { eventKeys } from '../src/redis/keys';
import { buy, defineScripts, putEvent } from '../src/redis/scripts';
import { startLocalMariadb } from '../src/services/mariadb-server';
import { startLocalRedis } from '../src/services/redis-server';
import { parseEntries } from '../src/orders/stream';
import { machine, writeResult } from './report';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Buy batches of 100 (a sale's batches are tens to hundreds): one stream entry each. */
const FILL_BATCH = 100;

async function fill(redis: Redis, event: string, n: number): Promise<void> {
  const keys = eventKeys(event);
  await putEvent(redis, keys, { stock: n, start: Date.now() - 1000, end: Date.now() + 3_600_000, name: event });
  for (let i = 0; i < n; i += FILL_BATCH) {
    const users = Array.from({ length: Math.min(FILL_BATCH, n - i) }, (_, j) => `${event}-user-${i + j}`);
    await buy(redis, keys, users);
  }
}

async function main(): Promise<void> {
  const orders = arg('orders', 100_000);
  const batch = arg('batch', 1000);
  const naiveOrders = arg('naive', 5_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skb-'));
  const [r, m] = await Promise.all([startLocalRedis(dir), startLocalMariadb(dir)]);
  const redis = new Redis({ path: r.socket });
  defineScripts(redis);
  const pool = await connectMysql({ socket: m.socket });
  try {
    // seckill's persister
    await fill(redis, 'bench', orders);
    const catalog = new Catalog(redis, undefined, false);
    await catalog.refresh();
    const persister = new Persister(redis, pool, () => catalog.all(), { batch, waitMs: 5, claimIdleMs: 60_000, consumer: 'bench' });
    const t0 = performance.now();
    if (!(await persister.flush(600_000))) throw new Error('persister did not finish');
    const seconds = (performance.now() - t0) / 1000;
    const [[row]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n, COUNT(DISTINCT user_id) AS u FROM orders WHERE event_id = ?', ['bench']);
    if (Number(row?.n) !== orders || Number(row?.u) !== orders) throw new Error(`expected ${orders} rows, found ${row?.n}`);

    // baseline: one INSERT + one XACK per order
    await fill(redis, 'naive', naiveOrders);
    const k = eventKeys('naive');
    await redis.xgroup('CREATE', k.orders, GROUP, '0');
    const t1 = performance.now();
    for (;;) {
      const reply = (await redis.xreadgroup('GROUP', GROUP, 'naive', 'COUNT', 100, 'STREAMS', k.orders, '>')) as [string, [string, string[]][]][] | null;
      const entries = parseEntries(reply?.[0]?.[1]);
      if (entries.length === 0) break;
      for (const o of entries) {
        await pool.query('INSERT INTO orders (event_id, order_no, user_id, created) VALUES (?, ?, ?, ?)', ['naive', o.orderNo, o.user, o.created]);
        await redis.xack(k.orders, GROUP, o.id);
      }
    }
    const naiveSeconds = (performance.now() - t1) / 1000;

    const rate = orders / seconds;
    const naiveRate = naiveOrders / naiveSeconds;
    const result = {
      bench: 'persister',
      date: new Date().toISOString(),
      machine: machine(),
      settings: { orders, batch, ordersPerEntry: FILL_BATCH, naiveOrders, appendfsync: 'everysec', innodb_flush_log_at_trx_commit: 1 },
      seckill: { orders, seconds: +seconds.toFixed(3), ordersPerSecond: Math.round(rate) },
      naive: { orders: naiveOrders, seconds: +naiveSeconds.toFixed(3), ordersPerSecond: Math.round(naiveRate) },
      ratio: +(rate / naiveRate).toFixed(1),
      goal: { ordersPerSecond: 50_000, met: rate >= 50_000 },
    };
    const md = [
      `| what | orders | seconds | orders/s |`,
      `|---|---|---|---|`,
      `| seckill persister (reads of ${batch} entries of ${FILL_BATCH} orders, INSERTs of ${batch} rows) | ${orders} | ${result.seckill.seconds} | ${result.seckill.ordersPerSecond} |`,
      `| naive: INSERT + XACK per order | ${naiveOrders} | ${result.naive.seconds} | ${result.naive.ordersPerSecond} |`,
      `| ratio | | | **${result.ratio}×** |`,
    ].join('\n');
    writeResult('persister', result, md);
    process.stdout.write(`${md}\n\ngoal ≥ 50000 orders/s: ${result.goal.met ? 'met' : 'NOT met'}\n`);
  } finally {
    redis.disconnect();
    await pool.end();
    await Promise.all([r.stop(), m.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
