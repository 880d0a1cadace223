/**
 * npm run bench:workers [-- --quick]
 *
 * What worker processes cost and give, now that each worker is a complete
 * front (no hop on the buy path). Four settings on one machine, in
 * alternating rounds, each under the same generator: two wrk processes (one
 * thread each) of 50 connections, so no setting has more generator than
 * another:
 *   1 worker   SECKILL_WORKERS=1;
 *   2 workers  SECKILL_WORKERS=2;
 *   analog     two independent single-worker servers on one Redis and one
 *              MariaDB, one wrk on each: what no hop at all costs here (the
 *              contention floor of 2 cores).
 *   default    SECKILL_WORKERS unset: what `npm start` chooses here.
 * Three phases:
 *   sold-out   a crowd of 50,000 users cycling on a sold-out event (answered
 *              from memory);
 *   selling    fresh users on an event with stock to spare (every request a
 *              script call);
 *   whole      a whole sale from its opening: 50,000 units, 200,000 distinct
 *              users cycling (a quarter win), for the run's duration.
 * The headline is server CPU µs per request by process kind (node: every
 * node process of the setting; redis-server; mariadbd; from /proc), and
 * req/s; ratios to 1 worker and to the analog from the same run.
 *
 *   --phase sold-out|selling   run one phase only
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_SECRET, mintTokens } from './load';
import { procUsage } from './procs';
import { BENCH_ADMIN, startServer, type Started } from './servers';
import { loadWrk, writeTokens } from './wrk-load';
import { mintToken } from '../src/auth/jwt';
import { runMain } from './run-main';

const quick = process.argv.includes('--quick');
const DURATION_S = quick ? 3 : 6;
const ROUNDS = quick ? 1 : 3;
/** wrk processes per cell, whatever the setting (one thread each). */
const GENERATORS = 2;
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
type Phase = 'sold-out' | 'selling' | 'whole';
type Setting = '1 worker' | '2 workers' | 'analog' | 'default';
const PHASES = (arg('--phase') === undefined ? ['sold-out', 'selling', 'whole'] : [arg('--phase')]) as Phase[];
const SETTINGS: readonly Setting[] = ['1 worker', '2 workers', 'analog', 'default'];
/** The whole sale: this many units, to a crowd of WHOLE_USERS distinct users (a quarter win). */
const WHOLE_STOCK = 50_000;
const WHOLE_USERS = 200_000;
const SETTING_WORKERS: Readonly<Record<Setting, string>> = { '1 worker': '1', '2 workers': '2', analog: '1', default: '' };

interface Run {
  setting: Setting;
  phase: Phase;
  rps: number;
  cpuUs: number;
  p99: number;
  /** CPU µs per request by process kind: node (all), redis-server, mariadbd; with workers, 'of which primary'. */
  by: Record<string, number>;
}

async function round(setting: Setting, phase: Phase, tokens: readonly string[], warm: string[]): Promise<Run> {
  const dirs: string[] = [];
  const dir = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'skw-'));
    dirs.push(d);
    return d;
  };
  const stock = phase === 'selling' ? 5_000_000 : phase === 'whole' ? WHOLE_STOCK : 100;
  const servers: Started[] = [];
  try {
    const first = await startServer('seckill', { event: 'bw', stock, dataDir: dir(), env: { SECKILL_WORKERS: SETTING_WORKERS[setting] } });
    servers.push(first);
    if (setting === 'analog') servers.push(await startServer('seckill', { event: 'bw', stock, dataDir: dir(), shareWith: first }));
    const pids = servers.flatMap((s) => s.pids);
    const cpu = (): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const { name, pid } of pids) out[name] = (out[name] ?? 0) + procUsage(pid).cpuS;
      return out;
    };
    const urls = servers.map((s) => `http://127.0.0.1:${s.proc.port}`);
    // The same generator for every setting: GENERATORS wrk processes of 100 / GENERATORS connections (for the analog,
    // one per server). One wrk thread saturates before 2 workers do (seen: 90 % of a core in the sold-out phase), and
    // a ratio against a setting with more generator would describe the generator.
    const targets = Array.from({ length: GENERATORS }, (_, i) => urls[i % urls.length] as string);
    // Sell the stock first in the sold-out phase, so every timed answer is "sold out".
    for (const t of warm) await fetch(`${urls[0]}/events/bw/buy`, { method: 'POST', headers: { authorization: `Bearer ${t}` } });
    // With workers, the primary (which serves no request) apart: its share of the node CPU.
    const primaryPid = setting === '2 workers' ? (first.proc.child.pid ?? 0) : 0;
    const primaryBefore = primaryPid === 0 ? 0 : procUsage(primaryPid).cpuS;
    const before = cpu();
    // Each wrk its own users: the analog's two servers never see the same one.
    const share = Math.floor(tokens.length / targets.length);
    const results = await Promise.all(
      targets.map((url, i) =>
        loadWrk({
          url,
          event: 'bw',
          tokensFile: writeTokens(path.join(dirs[0] as string, `tokens-${i}.txt`), tokens.slice(i * share, (i + 1) * share)),
          order: 'cycle',
          connections: 100 / targets.length,
          durationS: DURATION_S,
          label: `${phase} ${setting} #${i}`,
        }),
      ),
    );
    const after = cpu();
    const primaryS = primaryPid === 0 ? 0 : procUsage(primaryPid).cpuS - primaryBefore;
    const requests = results.reduce((n, r) => n + r.requests, 0);
    let cpuS = 0;
    const by: Record<string, number> = {};
    for (const [name, v] of Object.entries(after)) {
      cpuS += v - (before[name] ?? 0);
      by[name] = +(((v - (before[name] ?? 0)) * 1e6) / Math.max(1, requests)).toFixed(1);
    }
    if (primaryPid !== 0) by['of which primary'] = +((primaryS * 1e6) / Math.max(1, requests)).toFixed(1);
    return {
      setting,
      phase,
      rps: Math.round(results.reduce((n, r) => n + r.rps, 0)),
      cpuUs: +((cpuS * 1e6) / Math.max(1, requests)).toFixed(1),
      p99: Math.max(...results.map((r) => r.latency.p99)),
      by,
    };
  } finally {
    for (const s of servers.reverse()) await s.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const crowd = mintTokens(50_000, 'c');
  const whole = mintTokens(WHOLE_USERS, 'w');
  // More fresh users than a selling round can use: every request is a first click.
  const fresh = mintTokens(quick ? 150_000 : 400_000, 'f');
  const warm = Array.from({ length: 100 }, (_, i) => mintToken(BENCH_SECRET, `warm${i}`));
  const runs: Run[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const setting of SETTINGS) {
      for (const phase of PHASES) {
        const x = await round(setting, phase, phase === 'selling' ? fresh : phase === 'whole' ? whole : crowd, phase === 'sold-out' ? warm : []);
        runs.push(x);
        const by = Object.entries(x.by).map(([k, v]) => `${k} ${v}`).join(', ');
        process.stdout.write(`${x.phase} ${x.setting}: ${x.rps} req/s, ${x.cpuUs} µs CPU/request (${by}), p99 ${x.p99} ms\n`);
      }
    }
  }
  const med = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const of = (phase: Phase, setting: Setting): { rps: number; cpuUs: number; node: number; redis: number; mariadb: number } => {
    const xs = runs.filter((x) => x.phase === phase && x.setting === setting);
    return {
      rps: med(xs.map((x) => x.rps)),
      cpuUs: med(xs.map((x) => x.cpuUs)),
      node: med(xs.map((x) => x.by.node ?? 0)),
      redis: med(xs.map((x) => x.by['redis-server'] ?? 0)),
      mariadb: med(xs.map((x) => x.by.mariadbd ?? 0)),
    };
  };
  const rows = PHASES.map((phase) => {
    const [one, two, analog, byDefault] = SETTINGS.map((s) => of(phase, s)) as [ReturnType<typeof of>, ReturnType<typeof of>, ReturnType<typeof of>, ReturnType<typeof of>];
    const ratio = (a: number, b: number): number => +(a / Math.max(1e-9, b)).toFixed(2);
    const best = Math.max(one.rps, two.rps);
    return {
      phase,
      one,
      two,
      analog,
      byDefault,
      nodeVsOne: ratio(two.node, one.node),
      nodeVsAnalog: ratio(two.node, analog.node),
      rpsVsOne: ratio(two.rps, one.rps),
      rpsVsAnalog: ratio(two.rps, analog.rps),
      defaultVsBest: ratio(byDefault.rps, best),
    };
  });
  process.stdout.write(
    '\n| phase | setting | req/s | node µs/req | redis-server µs/req | mariadbd µs/req | all µs/req |\n|---|---|---|---|---|---|---|\n',
  );
  for (const r of rows) {
    for (const [name, x] of [['1 worker', r.one], ['2 workers', r.two], ['analog', r.analog], ['default', r.byDefault]] as const) {
      process.stdout.write(`| ${r.phase} | ${name} | ${x.rps} | ${x.node} | ${x.redis} | ${x.mariadb} | ${x.cpuUs} |\n`);
    }
  }
  process.stdout.write('\n| phase | node CPU/req, 2 workers ÷ 1 | ÷ analog | req/s, 2 workers ÷ 1 | ÷ analog | req/s, default ÷ best of 1 and 2 |\n|---|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.phase} | ${r.nodeVsOne}× | ${r.nodeVsAnalog}× | ${r.rpsVsOne}× | ${r.rpsVsAnalog}× | ${r.defaultVsBest}× |\n`);
  process.stdout.write(`${JSON.stringify({ durationS: DURATION_S, rounds: ROUNDS, cores: os.cpus().length, rows })}\n`);
}

runMain(main);
