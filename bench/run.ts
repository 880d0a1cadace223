/**
 * npm run bench [-- --quick]
 *
 * Three servers under the same load, side by side in one run, on the same
 * HTTP contract with the same JWTs and client settings:
 *   ceiling       raw uWS, parks each POST one tick, answers a fixed body
 *   conventional  Fastify + ioredis, one EVALSHA of the buy script per request
 *   seckill       the real server, persister on, local Redis and MariaDB
 * Rounds alternate between them; medians are reported with the ratios
 * seckill/ceiling and seckill/conventional. After every run with state the
 * sale is checked (Redis and MySQL agree, nobody twice, never over stock): a
 * failed check fails the bench.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { connectMysql } from '../src/orders/mysql';
import { eventKeys } from '../src/redis/keys';
import { defineScripts, putEvent } from '../src/redis/scripts';
import { startLocalRedis } from '../src/services/redis-server';
import { BENCH_SECRET, load, mintTokens, type LoadResult } from './load';
import { procUsage, startProc, type Proc } from './procs';
import { machine, writeResult } from './report';

const quick = process.argv.includes('--quick');
const S = {
  stock: quick ? 2_000 : 10_000,
  users: quick ? 20_000 : 100_000,
  connections: quick ? 50 : 100,
  durationS: quick ? 4 : 10,
  rounds: quick ? 1 : 3,
  repeatEvery: 5,
};
const DIST = path.resolve(__dirname);
const ADMIN = 'bench-admin';

type Scenario = 'ceiling' | 'conventional' | 'seckill';
interface Run extends Omit<LoadResult, 'winners'> {
  scenario: Scenario;
  round: number;
  cpuPercent: number;
  /** Server CPU time per answered request: comparable even when the load generator is the limit. */
  cpuUsPerRequest: number;
  peakRssMiB: number;
  check: string;
}

function fail(msg: string): never {
  throw new Error(`check failed: ${msg}`);
}

/** The sale's invariants after a run: exact, one per user, Redis = what users were told. */
async function verifySale(redis: Redis, event: string, r: LoadResult, stock: number): Promise<{ buyers: number }> {
  const k = eventKeys(event);
  const buyers = await redis.hgetall(k.buyers);
  const n = Object.keys(buyers).length;
  const remaining = Number(await redis.get(k.stock));
  if (n > stock) fail(`${event}: ${n} buyers for ${stock} units`);
  if (n + remaining !== stock) fail(`${event}: buyers ${n} + remaining ${remaining} != ${stock}`);
  const orders = Object.values(buyers).map(Number).sort((a, b) => a - b);
  if (orders.some((o, i) => o !== i + 1)) fail(`${event}: order numbers are not 1..${n}`);
  for (const u of r.winners) if (buyers[`user${u}`] === undefined) fail(`${event}: user${u} was told "won" but is no buyer`);
  if ((r.outcomes[1] ?? 0) > 0 && n !== stock) fail(`${event}: "sold out" answered with ${remaining} units left`);
  return { buyers: n };
}

async function runOne(scenario: Scenario, round: number, tokens: string[], dir: string): Promise<Run> {
  const event = `${scenario}${round}`;
  let proc: Proc;
  let redis: Redis | undefined;
  let stopRedis: (() => Promise<void>) | undefined;
  let mysqlSocket: string | undefined;
  if (scenario === 'ceiling') {
    proc = await startProc([path.join(DIST, 'baseline', 'ceiling.js')], { PORT: '0' }, /listening (\d+)/);
  } else if (scenario === 'conventional') {
    const local = await startLocalRedis(path.join(dir, event));
    stopRedis = () => local.stop();
    redis = new Redis({ path: local.socket });
    defineScripts(redis);
    await putEvent(redis, eventKeys(event), { stock: S.stock, start: Date.now() - 1000, end: Date.now() + 3_600_000, name: event });
    proc = await startProc([path.join(DIST, 'baseline', 'conventional.js')], { PORT: '0', REDIS_URL: local.socket, SECKILL_JWT_SECRET: BENCH_SECRET }, /listening (\d+)/);
  } else {
    const dataDir = path.join(dir, event);
    proc = await startProc(
      [path.join(DIST, '..', 'src', 'cli.js'), 'serve'],
      { PORT: '0', HOST: '127.0.0.1', SECKILL_DATA_DIR: dataDir, SECKILL_JWT_SECRET: BENCH_SECRET, SECKILL_ADMIN_TOKEN: ADMIN, REDIS_URL: '', MYSQL_URL: '' },
      /^(?=.*"msg":"listening")(?=.*"port":(\d+)).*$/m,
    );
    const res = await fetch(`http://127.0.0.1:${proc.port}/admin/events/${event}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ stock: S.stock, start: Date.now() - 1000, end: Date.now() + 3_600_000 }),
    });
    if (res.status !== 201) fail(`could not create ${event}: ${res.status}`);
    redis = new Redis({ path: path.join(dataDir, 'redis', 'redis.sock') });
    mysqlSocket = path.join(dataDir, 'mariadb', 'mysqld.sock');
  }
  const before = procUsage(proc.child.pid ?? 0);
  const t0 = Date.now();
  const r = await load({ url: `http://127.0.0.1:${proc.port}`, event, tokens, connections: S.connections, durationS: S.durationS, repeatEvery: S.repeatEvery, label: event });
  const wall = (Date.now() - t0) / 1000;
  const after = procUsage(proc.child.pid ?? 0);
  let check = 'no state';
  try {
    if (redis !== undefined) {
      const { buyers } = await verifySale(redis, event, r, S.stock);
      check = `ok: ${buyers} buyers`;
      if (mysqlSocket !== undefined) {
        const pool = await connectMysql({ socket: mysqlSocket });
        try {
          let rows = 0;
          for (let waited = 0; waited < 60_000; waited += 100) {
            const [[row]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n, COUNT(DISTINCT user_id) AS u FROM orders WHERE event_id = ?', [event]);
            rows = Number(row?.n);
            if (rows === buyers) {
              if (Number(row?.u) !== rows) fail(`${event}: a user twice in MySQL`);
              break;
            }
            await new Promise((res) => setTimeout(res, 100));
          }
          if (rows !== buyers) fail(`${event}: MySQL has ${rows} orders, Redis ${buyers}`);
          check += ', MySQL equal';
        } finally {
          await pool.end();
        }
      }
    }
  } finally {
    redis?.disconnect();
    await proc.stop();
    await stopRedis?.();
  }
  const { winners: _w, ...rest } = r;
  const cpuS = after.cpuS - before.cpuS;
  return {
    ...rest,
    scenario,
    round,
    cpuPercent: Math.round((cpuS / wall) * 100),
    cpuUsPerRequest: +((cpuS * 1e6) / Math.max(1, r.requests)).toFixed(1),
    peakRssMiB: after.peakRssMiB,
    check,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbench-'));
  const log = (s: string): void => void process.stdout.write(s + '\n');
  log(`seckill bench (${quick ? 'quick' : 'full'}): stock ${S.stock}, ${S.users} users (every ${S.repeatEvery}th click a repeat), ${S.connections} connections, ${S.durationS} s x ${S.rounds} round(s) per server`);
  const tokens = mintTokens(S.users);
  const runs: Run[] = [];
  try {
    for (let round = 0; round < S.rounds; round++) {
      for (const scenario of ['ceiling', 'conventional', 'seckill'] as const) {
        process.stdout.write(`  round ${round + 1}/${S.rounds} ${scenario} ... `);
        const run = await runOne(scenario, round, tokens, dir);
        runs.push(run);
        log(`${run.rps} req/s, p99 ${run.latency.p99} ms, ${run.bytesPerResponse} B/response, ${run.check}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const by = (s: Scenario) => runs.filter((r) => r.scenario === s);
  const med = (s: Scenario, f: (r: Run) => number) => median(by(s).map(f));
  const rows = (['ceiling', 'conventional', 'seckill'] as const).map((s) => ({
    scenario: s,
    rps: med(s, (r) => r.rps),
    p50: med(s, (r) => r.latency.p50),
    p90: med(s, (r) => r.latency.p90),
    p99: med(s, (r) => r.latency.p99),
    max: med(s, (r) => r.latency.max),
    bytes: med(s, (r) => r.bytesPerResponse),
    errors: med(s, (r) => r.errors + r.timeouts),
    cpu: med(s, (r) => r.cpuPercent),
    cpuUs: med(s, (r) => r.cpuUsPerRequest),
    rss: med(s, (r) => r.peakRssMiB),
  }));
  const get = (s: Scenario) => rows.find((r) => r.scenario === s)!;
  const ratios = {
    seckillPerCeiling: +(get('seckill').rps / get('ceiling').rps).toFixed(2),
    seckillPerConventional: +(get('seckill').rps / get('conventional').rps).toFixed(2),
    p99SeckillPerConventional: +(get('seckill').p99 / Math.max(1, get('conventional').p99)).toFixed(2),
    cpuPerRequestConventionalPerSeckill: +(get('conventional').cpuUs / Math.max(0.1, get('seckill').cpuUs)).toFixed(2),
  };
  const md = [
    `| server | req/s | p50 ms | p90 ms | p99 ms | max ms | bytes/response | errors+timeouts | server CPU % | server CPU µs/request | peak RSS MiB |`,
    `|---|---|---|---|---|---|---|---|---|---|---|`,
    ...rows.map((r) => `| ${r.scenario} | ${r.rps} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.max} | ${r.bytes} | ${r.errors} | ${r.cpu} | ${r.cpuUs} | ${r.rss} |`),
    '',
    `seckill / ceiling req/s: **${ratios.seckillPerCeiling}×** · seckill / conventional req/s: **${ratios.seckillPerConventional}×** · seckill p99 / conventional p99: **${ratios.p99SeckillPerConventional}** · CPU per request, conventional / seckill: **${ratios.cpuPerRequestConventionalPerSeckill}×**`,
    '',
    `Outcomes (seckill, last round): ${JSON.stringify(by('seckill').at(-1)?.outcomes ?? {})}`,
  ].join('\n');
  log('\n' + md);
  writeResult(quick ? 'bench-quick' : 'bench', { date: new Date().toISOString(), machine: machine(), settings: S, rows, ratios, runs }, md);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
