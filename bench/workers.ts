/**
 * npm run bench:workers [-- --quick]
 *
 * What worker processes cost and give: seckill with SECKILL_WORKERS=1 and
 * =2, alternating rounds, under wrk (one thread), in two phases:
 *   sold-out  a crowd of 50,000 users cycling on a sold-out event: answered
 *             by each worker's prefilter, no hop to the consumer;
 *   selling   fresh users on an event with stock to spare: every request
 *             goes worker → primary's consumer → Redis → back (the hop).
 * The headline is server CPU µs per request (primary + workers + its
 * redis-server and mariadbd, from /proc), and req/s; ratios 2 workers / 1
 * from the same run. The machine has two cores and wrk takes part of one,
 * so req/s with 2 workers says little here; the CPU per request is what
 * carries over to a bigger machine.
 *
 *   --phase sold-out|selling   run one phase only
 *   --profile                  node --cpu-prof for the primary and every
 *                              worker; prints each one's top functions
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_SECRET, mintTokens } from './load';
import { BENCH_ADMIN } from './servers';
import { pingPong } from './ipc-pingpong';
import { procUsage } from './procs';
import { summarizeProfile } from './profile';
import { startServer } from './servers';
import { loadWrk, writeTokens } from './wrk-load';
import { mintToken } from '../src/auth/jwt';
import { runMain } from './run-main';

const quick = process.argv.includes('--quick');
const DURATION_S = quick ? 3 : 6;
const ROUNDS = quick ? 1 : 2;
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const PHASES = (arg('--phase') === undefined ? ['sold-out', 'selling'] : [arg('--phase')]) as ('sold-out' | 'selling')[];
const PROFILE = process.argv.includes('--profile');

interface Run {
  workers: number;
  phase: string;
  rps: number;
  cpuUs: number;
  p99: number;
  /** CPU µs per request by process: primary, worker (all of them), redis-server, mariadbd. */
  by: Record<string, number>;
  /** Mean leaders per buy script call (seckill_batch_size), over the timed run. */
  batch: number;
  /** Worker ↔ primary messages (both ways) per request, over the timed run. */
  msgs: number;
}

/** The sum of every sample of `name` (all labels) in the server's /metrics. */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${BENCH_ADMIN}` } })).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

async function round(workers: number, phase: 'sold-out' | 'selling', tokensFile: string, warm: string[]): Promise<Run> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skw-'));
  const stock = phase === 'selling' ? 5_000_000 : 100;
  const profDir = path.join(dataDir, 'prof');
  const s = await startServer('seckill', {
    event: 'bw',
    stock,
    dataDir,
    env: { SECKILL_WORKERS: String(workers) },
    ...(PROFILE ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] } : {}),
  });
  // The first node pid is the primary (with one worker, the whole server); the others are its workers.
  const roleOf = (i: number, name: string): string => (name !== 'node' ? name : i === 0 ? (workers === 1 ? 'process' : 'primary') : 'worker');
  const cpu = (): Record<string, number> => {
    const out: Record<string, number> = {};
    s.pids.forEach(({ name, pid }, i) => (out[roleOf(i, name)] = (out[roleOf(i, name)] ?? 0) + procUsage(pid).cpuS));
    return out;
  };
  let requests = 0;
  try {
    const url = `http://127.0.0.1:${s.proc.port}`;
    // Sell the stock first in the sold-out phase, so every timed answer is "sold out".
    for (const t of warm) await fetch(`${url}/events/bw/buy`, { method: 'POST', headers: { authorization: `Bearer ${t}` } });
    const counts = async (): Promise<number[]> =>
      Promise.all(['seckill_batch_size_sum', 'seckill_batch_size_count', 'seckill_worker_messages_total'].map((n) => metric(url, n)));
    const [sum0 = 0, count0 = 0, msgs0 = 0] = await counts();
    const before = cpu();
    const r = await loadWrk({ url, event: 'bw', tokensFile, order: 'cycle', connections: 100, durationS: DURATION_S, label: `${phase} w${workers}` });
    const after = cpu();
    requests = r.requests;
    let cpuS = 0;
    const by: Record<string, number> = {};
    for (const [name, v] of Object.entries(after)) {
      cpuS += v - (before[name] ?? 0);
      by[name] = +(((v - (before[name] ?? 0)) * 1e6) / Math.max(1, r.requests)).toFixed(1);
    }
    const [sum1 = 0, count1 = 0, msgs1 = 0] = await counts();
    const batch = +((sum1 - sum0) / Math.max(1, count1 - count0)).toFixed(1);
    const msgs = +((msgs1 - msgs0) / Math.max(1, r.requests)).toFixed(3);
    return { workers, phase, rps: r.rps, cpuUs: +((cpuS * 1e6) / Math.max(1, r.requests)).toFixed(1), p99: r.latency.p99, by, batch, msgs };
  } finally {
    await s.stop();
    if (PROFILE && fs.existsSync(profDir)) {
      // Profiles cover the whole process life (warm-up too): a guide to where time goes, not the headline.
      for (const f of fs.readdirSync(profDir).filter((x) => x.endsWith('.cpuprofile'))) {
        const p = JSON.parse(fs.readFileSync(path.join(profDir, f), 'utf8')) as Parameters<typeof summarizeProfile>[0];
        process.stdout.write(`\n${phase} workers=${workers} ${f}:\n${summarizeProfile(p, requests, 15)}\n`);
      }
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skw-tokens-'));
  const crowd = writeTokens(path.join(dir, 'crowd.txt'), mintTokens(50_000, 'c'));
  // More fresh users than a selling round can use: every request is a first click.
  const fresh = writeTokens(path.join(dir, 'fresh.txt'), mintTokens(quick ? 150_000 : 400_000, 'f'));
  const warm = Array.from({ length: 100 }, (_, i) => mintToken(BENCH_SECRET, `warm${i}`));
  const ipc = await pingPong(20_000);
  process.stdout.write(`one IPC message each way, one at a time (${ipc.roundTrips} round trips): ${ipc.parentUs} µs CPU in the sender, ${ipc.childUs} µs in the echoer, ${ipc.wallUs} µs wall per round trip\n`);
  const runs: Run[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const workers of [1, 2]) {
      for (const phase of PHASES) {
        const x = await round(workers, phase, phase === 'selling' ? fresh : crowd, phase === 'selling' ? [] : warm);
        runs.push(x);
        const by = Object.entries(x.by).map(([k, v]) => `${k} ${v}`).join(', ');
        process.stdout.write(`${x.phase} workers=${x.workers}: ${x.rps} req/s, ${x.cpuUs} µs CPU/request (${by}), batch ${x.batch}, ${x.msgs} messages/request, p99 ${x.p99} ms\n`);
      }
    }
  }
  const med = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const rows = PHASES.map((phase) => {
    const of = (w: number): Run[] => runs.filter((x) => x.phase === phase && x.workers === w);
    const one = { rps: med(of(1).map((x) => x.rps)), cpuUs: med(of(1).map((x) => x.cpuUs)) };
    const two = { rps: med(of(2).map((x) => x.rps)), cpuUs: med(of(2).map((x) => x.cpuUs)) };
    return { phase, one, two, cpuRatio: +(two.cpuUs / one.cpuUs).toFixed(2), rpsRatio: +(two.rps / one.rps).toFixed(2), hopUs: +(two.cpuUs - one.cpuUs).toFixed(1) };
  });
  process.stdout.write('\n| phase | 1 worker req/s | 2 workers req/s | 1 worker CPU µs/req | 2 workers CPU µs/req | CPU ratio | extra CPU µs/req |\n|---|---|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.phase} | ${r.one.rps} | ${r.two.rps} | ${r.one.cpuUs} | ${r.two.cpuUs} | ${r.cpuRatio}× | ${r.hopUs} |\n`);
  process.stdout.write(`${JSON.stringify({ durationS: DURATION_S, rounds: ROUNDS, cores: os.cpus().length, ipc, rows })}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
}

runMain(main);
