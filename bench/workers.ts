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
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_SECRET, mintTokens } from './load';
import { cpuOf } from './procs';
import { startServer } from './servers';
import { loadWrk, writeTokens } from './wrk-load';
import { mintToken } from '../src/auth/jwt';

const quick = process.argv.includes('--quick');
const DURATION_S = quick ? 3 : 6;
const ROUNDS = quick ? 1 : 2;

interface Run {
  workers: number;
  phase: string;
  rps: number;
  cpuUs: number;
  p99: number;
}

async function round(workers: number, phase: 'sold-out' | 'selling', tokensFile: string, warm: string[]): Promise<Run> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skw-'));
  const stock = phase === 'selling' ? 5_000_000 : 100;
  const s = await startServer('seckill', { event: 'bw', stock, dataDir, env: { SECKILL_WORKERS: String(workers) } });
  try {
    const url = `http://127.0.0.1:${s.proc.port}`;
    // Sell the stock first in the sold-out phase, so every timed answer is "sold out".
    for (const t of warm) await fetch(`${url}/events/bw/buy`, { method: 'POST', headers: { authorization: `Bearer ${t}` } });
    const before = cpuOf(s.pids);
    const r = await loadWrk({ url, event: 'bw', tokensFile, order: 'cycle', connections: 100, durationS: DURATION_S, label: `${phase} w${workers}` });
    const after = cpuOf(s.pids);
    let cpuS = 0;
    for (const [name, v] of Object.entries(after)) cpuS += v - (before[name] ?? 0);
    return { workers, phase, rps: r.rps, cpuUs: +((cpuS * 1e6) / Math.max(1, r.requests)).toFixed(1), p99: r.latency.p99 };
  } finally {
    await s.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skw-tokens-'));
  const crowd = writeTokens(path.join(dir, 'crowd.txt'), mintTokens(50_000, 'c'));
  // More fresh users than a selling round can use: every request is a first click.
  const fresh = writeTokens(path.join(dir, 'fresh.txt'), mintTokens(quick ? 150_000 : 400_000, 'f'));
  const warm = Array.from({ length: 100 }, (_, i) => mintToken(BENCH_SECRET, `warm${i}`));
  const runs: Run[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const workers of [1, 2]) {
      runs.push(await round(workers, 'sold-out', crowd, warm));
      runs.push(await round(workers, 'selling', fresh, []));
      for (const x of runs.slice(-2)) process.stdout.write(`${x.phase} workers=${x.workers}: ${x.rps} req/s, ${x.cpuUs} µs CPU/request, p99 ${x.p99} ms\n`);
    }
  }
  const med = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const rows = ['sold-out', 'selling'].map((phase) => {
    const of = (w: number): Run[] => runs.filter((x) => x.phase === phase && x.workers === w);
    const one = { rps: med(of(1).map((x) => x.rps)), cpuUs: med(of(1).map((x) => x.cpuUs)) };
    const two = { rps: med(of(2).map((x) => x.rps)), cpuUs: med(of(2).map((x) => x.cpuUs)) };
    return { phase, one, two, cpuRatio: +(two.cpuUs / one.cpuUs).toFixed(2), rpsRatio: +(two.rps / one.rps).toFixed(2), hopUs: +(two.cpuUs - one.cpuUs).toFixed(1) };
  });
  process.stdout.write('\n| phase | 1 worker req/s | 2 workers req/s | 1 worker CPU µs/req | 2 workers CPU µs/req | CPU ratio | extra CPU µs/req |\n|---|---|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.phase} | ${r.one.rps} | ${r.two.rps} | ${r.one.cpuUs} | ${r.two.cpuUs} | ${r.cpuRatio}× | ${r.hopUs} |\n`);
  process.stdout.write(`${JSON.stringify({ durationS: DURATION_S, rounds: ROUNDS, cores: os.cpus().length, rows })}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
