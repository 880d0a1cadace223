/**
 * What one Redis Cluster shard can decide: buy-script decisions per second
 * (and redis-server CPU µs per decision) on one master of a local
 * three-master cluster, against a standalone redis-server in the same run
 * (alternating rounds, best of each), for batches of 100 and 500 users with
 * several calls in flight, as the consumer sends them. Every decision is a
 * win (decrement, buyer marker, order number, XADD): the costly case, and
 * what reaches Redis during a sale (the prefilter keeps the rest away).
 * Both servers run appendfsync everysec; the shard is reached over TCP
 * loopback, the standalone server over its unix socket.
 *
 *   npm run bench:shard            (about 40 s; SHARD_SECONDS=N per round)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { connectCluster } from '../src/redis/client';
import { eventKeys } from '../src/redis/keys';
import { defineScripts, putEvent, type RedisClient } from '../src/redis/scripts';
import { startLocalCluster, type LocalCluster } from '../src/services/redis-cluster';
import { startLocalRedis, type LocalRedis } from '../src/services/redis-server';
import { procUsage } from './procs';
import { decideFor } from './decide-for';
import { runMain } from './run-main';

const SECONDS = Number(process.env.SHARD_SECONDS ?? 4);
/** Script calls in flight at once on the one connection. */
const IN_FLIGHT = 4;

interface Target {
  readonly redis: RedisClient;
  /** The redis-server that owns the event `id` (its CPU is measured). */
  pidFor(id: string): number;
}

let run = 0;

async function round(target: Target, batch: number): Promise<{ rate: number; cpuUs: number }> {
  const now = Date.now();
  const id = `shard${run++}`;
  const keys = eventKeys(id);
  const pid = target.pidFor(id);
  await putEvent(target.redis, keys, { stock: 100_000_000, start: now - 1000, end: now + 3_600_000, name: '' });
  const cpu0 = procUsage(pid).cpuS;
  const { decided, seconds } = await decideFor(target.redis, keys, batch, IN_FLIGHT, SECONDS);
  const cpuUs = ((procUsage(pid).cpuS - cpu0) * 1e6) / decided;
  await target.redis.del(keys.meta, keys.stock, keys.buyers, keys.orders, keys.seq);
  return { rate: decided / seconds, cpuUs };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sks-'));
  let cluster: LocalCluster | undefined;
  let local: LocalRedis | undefined;
  const clients: { disconnect(): void }[] = [];
  try {
    cluster = await startLocalCluster(path.join(dir, 'cluster'));
    local = await startLocalRedis(path.join(dir, 'single'), 'everysec');
    const shardClient = await connectCluster(cluster.shards.map((s) => ({ host: '127.0.0.1', port: s.port })), 5_000, 'bench');
    const single = new Redis({ path: local.socket });
    defineScripts(single);
    clients.push(shardClient, single);
    // Each round's event lands on some master: measure the CPU of the one owning its slot.
    const shardTarget: Target = {
      redis: shardClient,
      pidFor: (id) => cluster?.shards.find((x) => x.address === shardClient.slots[keySlot(`sk:{${id}}:meta`)]?.[0])?.pid ?? 0,
    };
    const singleTarget: Target = { redis: single, pidFor: () => local?.pid ?? 0 };
    const rows: { batch: number; shard: number; single: number; ratio: number; shardCpuUs: number; singleCpuUs: number }[] = [];
    for (const batch of [100, 500]) {
      const shard: { rate: number; cpuUs: number }[] = [];
      const alone: { rate: number; cpuUs: number }[] = [];
      for (let r = 0; r < 2; r++) {
        shard.push(await round(shardTarget, batch));
        alone.push(await round(singleTarget, batch));
      }
      const best = (xs: { rate: number; cpuUs: number }[]): { rate: number; cpuUs: number } => xs.reduce((a, b) => (b.rate > a.rate ? b : a));
      const s = best(shard);
      const a = best(alone);
      const row = { batch, shard: Math.round(s.rate), single: Math.round(a.rate), ratio: Number((s.rate / a.rate).toFixed(2)), shardCpuUs: Number(s.cpuUs.toFixed(2)), singleCpuUs: Number(a.cpuUs.toFixed(2)) };
      rows.push(row);
      process.stdout.write(
        `batch ${batch}: cluster shard ${row.shard} decisions/s (${row.shardCpuUs} µs redis CPU each), standalone ${row.single}/s (${row.singleCpuUs} µs), shard/standalone ${row.ratio}\n`,
      );
    }
    process.stdout.write(`${JSON.stringify({ seconds: SECONDS, inFlight: IN_FLIGHT, cores: os.availableParallelism(), rows })}\n`);
  } finally {
    for (const c of clients) c.disconnect();
    await cluster?.stop();
    await local?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** CRC16 (XMODEM) of the hash tag, mod 16384: the slot Redis Cluster gives a key. */
function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const tag = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(tag)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

runMain(main);
