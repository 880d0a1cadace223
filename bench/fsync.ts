/**
 * What `appendfsync always` costs the sale: decisions per second of the buy
 * script on the local redis-server with `everysec` and with `always`, in
 * the same run, alternating rounds. A batch is one script call, so Redis
 * writes and fsyncs its AOF once per batch (once per event-loop turn, for
 * all the calls that arrived together), not once per request. Batch size 1
 * is there to show what one fsync per request would cost.
 *
 *   npm run bench:fsync            (about 40 s)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { eventKeys } from '../src/redis/keys';
import { defineScripts, putEvent } from '../src/redis/scripts';
import { startLocalRedis, type AppendFsync } from '../src/services/redis-server';
import { decideFor } from './decide-for';
import { runMain } from './run-main';

const SECONDS = Number(process.env.FSYNC_SECONDS ?? 4);
/** Batches in flight at once: the consumer sends one call per event per tick, several ticks may overlap. */
const IN_FLIGHT = 4;

async function round(mode: AppendFsync, batch: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skf-'));
  const local = await startLocalRedis(dir, mode);
  const redis = new Redis({ path: local.socket });
  defineScripts(redis);
  try {
    const now = Date.now();
    const keys = eventKeys('fsync');
    await putEvent(redis, keys, { stock: 10_000_000, start: now - 1000, end: now + 3_600_000, name: '' });
    const { decided, seconds } = await decideFor(redis, keys, batch, IN_FLIGHT, SECONDS);
    return decided / seconds;
  } finally {
    redis.disconnect();
    await local.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: { batch: number; everysec: number; always: number; ratio: number }[] = [];
  for (const batch of [1, 100, 500]) {
    const rates: Record<AppendFsync, number[]> = { everysec: [], always: [] };
    for (let r = 0; r < 2; r++) {
      for (const mode of ['everysec', 'always'] as const) rates[mode].push(await round(mode, batch));
    }
    const best = (xs: number[]): number => Math.round(Math.max(...xs));
    const row = { batch, everysec: best(rates.everysec), always: best(rates.always), ratio: 0 };
    row.ratio = Number((row.always / row.everysec).toFixed(2));
    rows.push(row);
    process.stdout.write(`batch ${batch}: everysec ${row.everysec}/s, always ${row.always}/s, always/everysec ${row.ratio}\n`);
  }
  process.stdout.write(`${JSON.stringify({ seconds: SECONDS, inFlight: IN_FLIGHT, rows })}\n`);
}

runMain(main);
