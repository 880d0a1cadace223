/**
 * What payment deadlines cost, in Redis CPU (used_cpu_user + used_cpu_sys
 * from INFO, so other processes on the machine do not count):
 *
 * - the buy path: µs of Redis CPU per decision of the buy script (every
 *   decision a win: the worst case), for an event without a deadline, the
 *   same with one (each win also writes its deadline and owner), and without a deadline while a sweeper runs every
 *   250 ms over 100 events with deadlines (the sweeper is its own timer on
 *   its own calls: it adds nothing to a buy call). Ratios against the first,
 *   from alternating rounds of the same run;
 * - the sweep: µs per expireDue call when nothing is due (what every
 *   process pays per event with a deadline, 4 times a second), and µs per
 *   order expired.
 *
 *   npm run bench:expiry            (about 30 s)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { eventKeys } from '../src/redis/keys';
import { buy, defineScripts, expireDue, putEvent } from '../src/redis/scripts';
import { SaleEvent } from '../src/events/sale-event';
import { ExpirySweeper } from '../src/orders/expiry-sweeper';
import { startLocalRedis } from '../src/services/redis-server';
import { runMain } from './run-main';

const BATCHES = Number(process.env.EXPIRY_BATCHES ?? 2_000);
const BATCH = 100;
const ROUNDS = 3;

/** Redis' own CPU seconds so far. */
async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

async function cpuOf(redis: Redis, work: () => Promise<void>): Promise<number> {
  const before = await redisCpu(redis);
  await work();
  return (await redisCpu(redis)) - before;
}

let eventNo = 0;

/** µs of Redis CPU per decision over BATCHES batches of BATCH new users (all win). */
async function buyRound(redis: Redis, payWithin: number, sweeping: boolean): Promise<number> {
  const now = Date.now();
  const id = `b${eventNo++}`;
  const keys = eventKeys(id);
  const def = { stock: BATCHES * BATCH, start: now - 1000, end: now + 3_600_000, name: '', payWithin };
  await putEvent(redis, keys, def);
  let sweeper: ExpirySweeper | undefined;
  if (sweeping) {
    const events = Array.from({ length: 100 }, (_, i) => new SaleEvent(`s${i}`, { ...def, payWithin: 600 }, 0));
    for (const e of events) await putEvent(redis, e.keys, { ...def, payWithin: 600 });
    sweeper = new ExpirySweeper(redis, () => events, () => undefined);
    sweeper.start();
  }
  let next = 0;
  const seconds = await cpuOf(redis, async () => {
    for (let b = 0; b < BATCHES; b += 4) {
      await Promise.all(
        Array.from({ length: 4 }, () => buy(redis, keys, Array.from({ length: BATCH }, () => `u${next++}`))),
      );
    }
  });
  await sweeper?.stop();
  return (seconds * 1e6) / next;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ske-'));
  const local = await startLocalRedis(dir, 'everysec');
  const redis = new Redis({ path: local.socket });
  defineScripts(redis);
  try {
    const runs = { final: [] as number[], deadline: [] as number[], sweeping: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      runs.final.push(await buyRound(redis, 0, false));
      runs.deadline.push(await buyRound(redis, 600, false));
      runs.sweeping.push(await buyRound(redis, 0, true));
    }
    const best = (xs: number[]): number => Math.min(...xs);
    const base = best(runs.final);
    const buyRows = Object.entries(runs).map(([name, xs]) => ({ name, usPerDecision: Number(best(xs).toFixed(3)), ratio: Number((best(xs) / base).toFixed(2)) }));
    for (const r of buyRows) process.stdout.write(`buy script, ${r.name}: ${r.usPerDecision} µs Redis CPU per decision (${r.ratio}×)\n`);

    // Idle sweeps: one event with a deadline and nothing due.
    const now = Date.now();
    const idle = eventKeys('idle');
    await putEvent(redis, idle, { stock: 10, start: now - 1000, end: now + 3_600_000, name: '', payWithin: 600 });
    const calls = 20_000;
    const idleSeconds = await cpuOf(redis, async () => {
      for (let i = 0; i < calls; i += 50) await Promise.all(Array.from({ length: 50 }, () => expireDue(redis, idle, 500)));
    });
    const usPerIdleSweep = Number(((idleSeconds * 1e6) / calls).toFixed(2));
    process.stdout.write(`expireDue with nothing due: ${usPerIdleSweep} µs Redis CPU per call (per event, 4 calls a second per process)\n`);

    // Expiring: 100,000 due orders whose deadline has passed.
    const n = 100_000;
    const due = eventKeys('due');
    await putEvent(redis, due, { stock: n, start: now - 1000, end: now + 3_600_000, name: '', payWithin: 600 });
    for (let i = 0; i < n; i += 1_000) await buy(redis, due, Array.from({ length: 1_000 }, (_, j) => `d${i + j}`));
    for (let i = 0; i < n; i += 1_000) await redis.zadd(due.due, ...Array.from({ length: 1_000 }, (_, j) => [1, String(i + j + 1)]).flat());
    let expired = 0;
    const expireSeconds = await cpuOf(redis, async () => {
      for (;;) {
        const r = await expireDue(redis, due, 500);
        expired += r.expired.length;
        if (r.expired.length === 0) break;
      }
    });
    const usPerExpired = Number(((expireSeconds * 1e6) / expired).toFixed(2));
    process.stdout.write(`expireDue expiring ${expired} orders, 500 a call: ${usPerExpired} µs Redis CPU per order expired\n`);
    process.stdout.write(`${JSON.stringify({ batches: BATCHES, batch: BATCH, rounds: ROUNDS, buy: buyRows, usPerIdleSweep, usPerExpired, expired })}\n`);
  } finally {
    redis.disconnect();
    await local.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
