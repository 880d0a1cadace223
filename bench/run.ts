/**
 * npm run bench [-- --quick] [-- --only main,crowd,selling,latency,link3m,million,lots] [-- --save] [-- --autocannon] [-- --profile]
 *
 * Generator: wrk (bench/wrk/buy.lua, one thread) for the throughput
 * sections when it is installed, else autocannon; bench/open-loop.ts (evenly
 * spaced requests, latency from each one's due time, as wrk2) for the
 * latency at half of each server's peak. The run prints which one ran. The headline is
 * server-side CPU µs per request (node plus its own redis-server and
 * mariadbd, from /proc/<pid>/stat before and after), next to req/s: the load
 * generator shares the machine's two cores, so req/s says as much about it
 * as about the server.
 *
 * main     four servers under the same load, side by side, on the same HTTP
 *          contract with the same JWTs and client settings:
 *            ceiling       raw uWS, parks each POST one tick, answers a fixed body
 *            ceiling-auth  the same plus seckill's token check (src/auth/jwt.ts)
 *            conventional  Fastify + ioredis, one EVALSHA of the buy script per request
 *            seckill       the real server, persister on, local Redis and MariaDB
 *          A whole sale (stock sold, then sold out); rounds alternate between
 *          the servers; medians, with ratios from the same run.
 * crowd    200,000 and 1,000,000 distinct users (quick: 20,000), each
 *          clicking 1 to 3 times at random moments (buy.lua crowd:SEED), and
 *          the worst case, all of them cycling in order: ceiling,
 *          ceiling-auth, seckill in the sold-out phase.
 * selling  seckill selling to fresh users only (every answer a win): CPU per
 *          won request by process; with --profile, a node CPU profile (also of
 *          ceiling-auth and seckill in every crowd run).
 * latency  the main section's whole sale, open-loop at fixed rates (ceiling-auth,
 *          seckill): up to what rate the tail stays short.
 * link3m   the same servers in a network namespace whose answers go through
 *          a 3 Mbit/s tbf qdisc: decisions/s and wire bytes per answer.
 * million  1,000,000 distinct users, stock 100,000, in order: req/s, CPU,
 *          and the time from the last answer until every order is in MySQL.
 * lots     (only when named: --only lots) seckill selling to fresh users on
 *          the plain event, then on one sold in lots (limit 2, q=2, three
 *          SKUs): CPU per request side by side (bench/lots.ts).
 * After every run with state the sale is checked (Redis and MySQL agree,
 * nobody twice, never over stock): a failed check fails the bench.
 * Results go to bench/out/ (untracked); --save also writes bench/results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OUTCOMES } from '../src/outcome';
import { barChart } from './charts';
import { checkRun, fail } from './checks';
import { cannotShape, createShapedLink, RATE } from './link3m';
import { load, mintTokens, type LoadResult } from './load';
import { describeOpenLoop, openLoop, type OpenLoopStats } from './open-loop';
import { cpuOf, procUsage } from './procs';
import { summarizeByPart, summarizeProfile } from './profile';
import { endProgress, progress } from './progress';
import { machine, OUT_DIR, SAVE, writeFile, writeResult } from './report';
import { BENCH_ADMIN, SERVERS, startServer, type Server } from './servers';
import { HAS_WRK, loadWrk, writeTokens } from './wrk-load';
import { sellingLots } from './lots';

const argv = process.argv;
const quick = argv.includes('--quick');
const profile = argv.includes('--profile');
const GEN = HAS_WRK && !argv.includes('--autocannon') ? 'wrk' : 'autocannon';
const onlyArg = argv[argv.indexOf('--only') + 1];
const only = new Set(argv.includes('--only') && onlyArg !== undefined ? onlyArg.split(',') : quick ? ['main', 'crowd', 'selling'] : ['main', 'crowd', 'selling', 'latency', 'link3m', 'million']);
const S = {
  generator: GEN,
  stock: quick ? 2_000 : 10_000,
  users: quick ? 20_000 : 100_000,
  connections: quick ? 50 : 100,
  durationS: quick ? 3 : 6,
  rounds: quick ? 1 : 2,
  repeatEvery: 5,
  crowd: { sizes: quick ? [20_000] : [200_000, 1_000_000], stock: 1_000, durationS: quick ? 3 : 6, connections: 100 },
  selling: { durationS: quick ? 3 : 5, connections: 100, users: quick ? 200_000 : 400_000 },
  link3m: { rate: RATE, durationS: quick ? 4 : 8, connections: 100 },
  latency: { rates: quick ? [5_000, 20_000] : [5_000, 10_000, 20_000, 30_000], durationS: quick ? 3 : 6, connections: 100 },
  million: { users: quick ? 50_000 : 1_000_000, stock: quick ? 5_000 : 100_000, connections: 100, durationS: quick ? 4 : 15 },
};
const say = (s: string): void => void process.stdout.write(s + '\n');

interface Run extends Omit<LoadResult, 'winners'> {
  /** The open-loop generator's own figures (schedule lag, its CPU), when it ran. */
  openLoop?: OpenLoopStats;
  server: Server;
  round: number;
  cpuPercent: number;
  /** Server CPU time per answered request (node + its redis-server and mariadbd): comparable even when the load generator is the limit. */
  cpuUsPerRequest: number;
  /** The same, by process. */
  cpuUsByProcess: Record<string, number>;
  peakRssMiB: number;
  check: string;
  mysqlMs: number | undefined;
  wallS: number;
  /** Redis' own time per command over the run (INFO commandstats), when the server has a Redis: name → calls, µs. */
  redisCommands?: Record<string, { calls: number; usec: number }>;
}

interface RunOptions {
  readonly event: string;
  readonly stock: number;
  readonly tokens: readonly string[];
  /** The same tokens in a file, for wrk. */
  readonly tokensFile: string;
  /** buy.lua's order (wrk): cycle, hot:K, crowd:SEED. autocannon follows hot:K or cycle. */
  readonly order: string;
  readonly prefix?: string;
  readonly connections: number;
  readonly durationS: number;
  /** Open-loop rate (req/s) for the open-loop generator. */
  readonly rate?: number;
  readonly host?: string;
  readonly netns?: string;
  readonly env?: Record<string, string>;
  readonly nodeArgs?: readonly string[];
  readonly generator?: 'wrk' | 'autocannon' | 'open-loop';
  /** seckill only: first sell another event for this long (open-loop, 5,000 req/s, 20,000 users, stock 5,000), not measured: a server warm from an earlier sale. */
  readonly warmupS?: number;
}

async function runOne(server: Server, round: number, dir: string, o: RunOptions): Promise<Run> {
  const started = await startServer(server, { event: o.event, stock: o.stock, dataDir: path.join(dir, o.event), host: o.host, netns: o.netns, env: o.env, nodeArgs: o.nodeArgs });
  try {
    const pid = started.proc.child.pid ?? 0;
    if (o.warmupS !== undefined && server === 'seckill') await warmUp(`http://${o.host ?? '127.0.0.1'}:${started.proc.port}`, `${o.event}warm`, o.warmupS);
    await started.redis?.config('RESETSTAT');
    const before = cpuOf(started.pids);
    const t0 = Date.now();
    const url = `http://${o.host ?? '127.0.0.1'}:${started.proc.port}`;
    const gen = o.generator ?? GEN;
    const r: LoadResult & { openLoop?: OpenLoopStats } =
      gen === 'open-loop'
        ? await openLoop({
            url,
            event: o.event,
            tokens: o.tokens,
            connections: o.connections,
            rate: o.rate ?? 1000,
            durationS: o.durationS,
            repeatEvery: o.order.startsWith('hot:') ? Number(o.order.slice(4)) : 0,
            label: o.event,
            onTick: progress(`${server}`),
          })
        : gen === 'wrk'
        ? await loadWrk({ url, event: o.event, tokensFile: o.tokensFile, order: o.order, connections: o.connections, durationS: o.durationS, label: o.event })
        : await load({
            url,
            event: o.event,
            tokens: o.tokens,
            connections: o.connections,
            durationS: o.durationS,
            repeatEvery: o.order.startsWith('hot:') ? Number(o.order.slice(4)) : 0,
            label: o.event,
            onTick: progress(`${server}`),
          });
    endProgress();
    const wallS = (Date.now() - t0) / 1000;
    const after = cpuOf(started.pids);
    const redisCommands = started.redis === undefined ? undefined : parseCommandStats(await started.redis.info('commandstats'));
    const { check, mysqlMs } = await checkRun(started, o.event, r, o.stock, o.prefix, o.connections);
    const { winners: _w, ...rest } = r;
    const perRequest = (s: number): number => +((s * 1e6) / Math.max(1, r.requests)).toFixed(1);
    const cpuUsByProcess: Record<string, number> = {};
    let cpuS = 0;
    for (const name of Object.keys(after)) {
      const d = (after[name] ?? 0) - (before[name] ?? 0);
      cpuS += d;
      cpuUsByProcess[name] = perRequest(d);
    }
    return {
      ...rest,
      server,
      round,
      cpuPercent: Math.round((cpuS / wallS) * 100),
      cpuUsPerRequest: perRequest(cpuS),
      cpuUsByProcess,
      peakRssMiB: procUsage(pid).peakRssMiB,
      check,
      mysqlMs,
      wallS: +wallS.toFixed(1),
      ...(redisCommands === undefined ? {} : { redisCommands }),
    };
  } finally {
    await started.stop();
  }
}

/** `cmdstat_evalsha:calls=3,usec=120,...` lines → name → calls, µs. */
function parseCommandStats(info: string): Record<string, { calls: number; usec: number }> {
  const out: Record<string, { calls: number; usec: number }> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) out[m[1] ?? ''] = { calls: Number(m[2]), usec: Number(m[3]) };
  return out;
}

/** Redis' command time per won request, busiest first: "evalsha 6.1 (0.01 calls)". */
function redisCell(r: Run, per: number): string {
  return Object.entries(r.redisCommands ?? {})
    .filter(([, v]) => v.usec > 0)
    .sort((a, b) => b[1].usec - a[1].usec)
    .slice(0, 6)
    .map(([n, v]) => `${n} ${(v.usec / Math.max(1, per)).toFixed(2)} µs (${(v.calls / Math.max(1, per)).toFixed(3)} calls)`)
    .join(', ');
}

/** A sale of its own on a fresh seckill before the measured one: the server, its Redis and its MariaDB as after an earlier sale. */
async function warmUp(url: string, event: string, seconds: number): Promise<void> {
  const now = Date.now();
  const res = await fetch(`${url}/admin/events/${event}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${BENCH_ADMIN}` },
    body: JSON.stringify({ stock: 5_000, start: now - 1000, end: now + 3_600_000 }),
  });
  if (res.status !== 201) fail(`warm-up: could not create ${event}: ${res.status}`);
  const r = await openLoop({ url, event, tokens: mintTokens(20_000, 'warm'), connections: 100, rate: 5_000, durationS: seconds, repeatEvery: 5, label: event });
  say(`    warm-up sale ${event}: ${JSON.stringify(r.outcomes)} in ${seconds} s (not measured)`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
const ratio = (a: number, b: number): number => +(a / Math.max(1e-9, b)).toFixed(2);
const cpuCell = (r: Run): string => Object.entries(r.cpuUsByProcess).map(([n, v]) => `${n} ${v}`).join(' + ');

/** Per-outcome HTTP bytes per answer, one row per server, for the outcomes seen (autocannon only). */
function bytesTable(runs: Run[]): string {
  const codes = [...new Set(runs.flatMap((r) => Object.keys(r.bytesByOutcome).map(Number)))].sort((a, b) => a - b);
  if (codes.length === 0) return '(by outcome: autocannon only; this run used wrk)';
  const names = codes.map((c) => `${c} ${OUTCOMES[c]?.name ?? '?'}`);
  return [
    `| server | ${names.join(' | ')} |`,
    `|---|${codes.map(() => '---').join('|')}|`,
    ...SERVERS.filter((s) => runs.some((r) => r.server === s)).map((s) => {
      const last = runs.filter((r) => r.server === s).at(-1)!;
      return `| ${s} | ${codes.map((c) => last.bytesByOutcome[c] ?? '–').join(' | ')} |`;
    }),
  ].join('\n');
}

const charts: Record<string, string> = {};

async function main(tokens: string[], tokensFile: string, dir: string): Promise<{ md: string; json: unknown }> {
  say(`main: stock ${S.stock}, ${S.users} users (every ${S.repeatEvery}th click a repeat), ${S.connections} connections, ${S.durationS} s x ${S.rounds} round(s) per server, ${GEN}`);
  const runs: Run[] = [];
  for (let round = 0; round < S.rounds; round++) {
    for (const server of SERVERS) {
      say(`  round ${round + 1}/${S.rounds} ${server}`);
      const run = await runOne(server, round, dir, { event: `${server}${round}`.replace('-', ''), stock: S.stock, tokens, tokensFile, order: `hot:${S.repeatEvery}`, connections: S.connections, durationS: S.durationS });
      runs.push(run);
      say(`    ${run.rps} req/s, CPU ${run.cpuUsPerRequest} µs/request (${cpuCell(run)}), p99 ${run.latency.p99} ms, ${run.check}`);
    }
  }
  const by = (s: Server): Run[] => runs.filter((r) => r.server === s);
  const med = (s: Server, f: (r: Run) => number): number => median(by(s).map(f));
  const rows = SERVERS.map((s) => ({
    server: s,
    rps: med(s, (r) => r.rps),
    p50: med(s, (r) => r.latency.p50),
    p90: med(s, (r) => r.latency.p90),
    p99: med(s, (r) => r.latency.p99),
    max: med(s, (r) => r.latency.max),
    bytes: med(s, (r) => r.bytesPerResponse),
    errors: med(s, (r) => r.errors + r.timeouts),
    cpu: med(s, (r) => r.cpuPercent),
    cpuUs: med(s, (r) => r.cpuUsPerRequest),
    cpuBy: Object.fromEntries(['node', 'redis-server', 'mariadbd'].map((n) => [n, med(s, (r) => r.cpuUsByProcess[n] ?? 0)])),
    rss: med(s, (r) => r.peakRssMiB),
  }));
  const get = (s: Server): (typeof rows)[number] => rows.find((r) => r.server === s)!;
  // Latency at half of each server's own peak, open-loop: requests evenly spaced, latency from each one's due time.
  // ceiling-auth is the same-run baseline: what this machine's contention alone does to the tail.
  const half: Record<string, { target: number; rate: number; p50: number; p90: number; p99: number; p999: number; max: number; waited: number; lagP99: number; lagMax: number; genCpu: number; behind: boolean }> = {};
  for (const server of ['ceiling-auth', 'conventional', 'seckill'] as const) {
    const rate = Math.round(get(server).rps / 2);
    say(`  half load: ${server} at ${rate} req/s (open-loop, bench/open-loop.ts)`);
    const run = await runOne(server, 99, dir, { event: `${server}half`.replace('-', ''), stock: S.stock, tokens, tokensFile, order: `hot:${S.repeatEvery}`, connections: S.connections, durationS: S.durationS, rate, generator: 'open-loop' });
    const ol = run.openLoop!;
    half[server] = { target: rate, rate: run.rps, p50: run.latency.p50, p90: run.latency.p90, p99: run.latency.p99, p999: ol.latencyP999, max: run.latency.max, waited: ol.waitedForConnection, lagP99: ol.lagMs.p99, lagMax: ol.lagMs.max, genCpu: ol.cpuPercent, behind: ol.behind };
    say(`    ${run.rps} req/s, p50 ${run.latency.p50} ms, p99 ${run.latency.p99} ms, max ${run.latency.max} ms, ${run.check}`);
    say(`    ${describeOpenLoop(ol)}`);
  }
  const ratios = {
    seckillPerCeiling: ratio(get('seckill').rps, get('ceiling').rps),
    seckillPerCeilingAuth: ratio(get('seckill').rps, get('ceiling-auth').rps),
    seckillPerConventional: ratio(get('seckill').rps, get('conventional').rps),
    cpuSeckillPerCeilingAuth: ratio(get('seckill').cpuUs, get('ceiling-auth').cpuUs),
    cpuSeckillPerCeiling: ratio(get('seckill').cpuUs, get('ceiling').cpuUs),
    cpuConventionalPerSeckill: ratio(get('conventional').cpuUs, get('seckill').cpuUs),
  };
  const names = rows.map((r) => r.server);
  charts['main-rps'] = barChart(`main: req/s (${GEN}, same run)`, 'req/s', names, [{ name: 'req/s', values: rows.map((r) => r.rps) }]);
  charts['main-latency'] = barChart(`main: latency percentiles (${GEN})`, 'ms', names, [
    { name: 'p50', values: rows.map((r) => r.p50) },
    { name: 'p90', values: rows.map((r) => r.p90) },
    { name: 'p99', values: rows.map((r) => r.p99) },
  ]);
  charts['main-cpu'] = barChart('main: server CPU µs per request, by process', 'µs / request', names, ['node', 'redis-server', 'mariadbd'].map((n) => ({ name: n, values: rows.map((r) => r.cpuBy[n] ?? 0) })), true);
  const md = [
    `Generator: ${GEN}${GEN === 'wrk' ? ' (-t1)' : ''}; ${S.connections} connections, ${S.durationS} s × ${S.rounds} rounds per server, medians.`,
    '',
    `| server | req/s | server CPU µs/request | by process | p50 ms | p90 ms | p99 ms | max ms | bytes/response | errors+timeouts | server CPU % | peak RSS MiB |`,
    `|---|---|---|---|---|---|---|---|---|---|---|---|`,
    ...rows.map((r) => `| ${r.server} | ${r.rps} | **${r.cpuUs}** | ${Object.entries(r.cpuBy).filter(([, v]) => v > 0).map(([n, v]) => `${n} ${v}`).join(' + ')} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.max} | ${r.bytes} | ${r.errors} | ${r.cpu} | ${r.rss} |`),
    '',
    `CPU per request: seckill / ceiling-auth **${ratios.cpuSeckillPerCeilingAuth}×** · seckill / ceiling ${ratios.cpuSeckillPerCeiling}× · conventional / seckill **${ratios.cpuConventionalPerSeckill}×**`,
    '',
    `req/s: seckill / ceiling **${ratios.seckillPerCeiling}×** · seckill / ceiling-auth ${ratios.seckillPerCeilingAuth}× · seckill / conventional ${ratios.seckillPerConventional}×`,
    '',
    `At half of its own peak (open-loop: bench/open-loop.ts, requests evenly spaced, latency from each request's due time; ${S.connections} connections, ${S.durationS} s; "waited": requests due while all connections were busy; "lag": how late the generator sent a request after it was due and a connection was free):`,
    '',
    '| server | target req/s | answered req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | waited | generator lag p99 / max ms | generator CPU % | behind schedule |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...Object.entries(half).map(([s, h]) => `| ${s} | ${h.target} | ${h.rate} | ${h.p50} | ${h.p90} | **${h.p99}** | ${h.p999} | ${h.max} | ${h.waited} | ${h.lagP99} / ${h.lagMax} | ${h.genCpu} | ${h.behind ? 'yes' : 'no'} |`),
    '',
    `p99 at half load, seckill / ceiling-auth: **${ratio(half.seckill?.p99 ?? 0, half['ceiling-auth']?.p99 ?? 0)}×**`,
    '',
    'HTTP bytes per answer by outcome (status line, headers and body; last round):',
    '',
    bytesTable(runs),
    '',
    `Outcomes (seckill, last round): ${JSON.stringify(by('seckill').at(-1)?.outcomes ?? {})}`,
  ].join('\n');
  return { md, json: { rows, ratios, half, runs } };
}

/**
 * With --profile: node args that write a CPU profile of one server run into
 * its own folder, and a reader that keeps it in bench/out/<label>.cpuprofile
 * and summarizes it per request (by part, then the top functions).
 */
function profiler(dir: string, label: string, unit: string): { nodeArgs: string[]; summary: (per: number) => string } | undefined {
  if (!profile) return undefined;
  const profDir = path.join(dir, 'prof', label);
  return {
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
    summary: (per) => {
      const file = fs.existsSync(profDir) ? fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile')) : undefined;
      if (file === undefined) return '';
      const prof = JSON.parse(fs.readFileSync(path.join(profDir, file), 'utf8')) as never;
      fs.mkdirSync(OUT_DIR, { recursive: true });
      fs.copyFileSync(path.join(profDir, file), path.join(OUT_DIR, `${label}.cpuprofile`));
      say(`    the profile: ${path.join(OUT_DIR, `${label}.cpuprofile`)} (open it in Chrome DevTools, Performance)`);
      return [summarizeByPart(prof, per, unit), '', summarizeProfile(prof, per, 15, unit)].join('\n');
    },
  };
}

async function crowd(dir: string): Promise<{ md: string; json: unknown }> {
  const C = S.crowd;
  const servers: Server[] = ['ceiling', 'ceiling-auth', 'seckill'];
  say(`crowd: ${C.sizes.map((n) => n.toLocaleString('en')).join(' and ')} users, stock ${C.stock} (the sold-out phase), ${C.connections} connections, ${C.durationS} s per run, ${GEN}`);
  const rows: { users: number; order: string; server: Server; rps: number; cpuUs: number; cpuBy: string; p99: number; check: string }[] = [];
  const profiles: string[] = [];
  for (const users of C.sizes) {
    process.stdout.write(`  minting ${users.toLocaleString('en')} tokens ... `);
    const tokens = mintTokens(users, 'c');
    const file = writeTokens(path.join(dir, `crowd-${users}.txt`), tokens);
    say('done');
    for (const order of ['crowd:1', 'cycle']) {
      for (const server of servers) {
        const label = `crowd-${users}-${order === 'cycle' ? 'cycle' : 'random'}-${server}`;
        const prof = server === 'ceiling' ? undefined : profiler(dir, label, 'request');
        const run = await runOne(server, 0, dir, { event: `crowd${users}${order.replace(':', '')}${server.replace('-', '')}`, stock: C.stock, tokens, tokensFile: file, order, prefix: 'c', connections: C.connections, durationS: C.durationS, ...(prof === undefined ? {} : { nodeArgs: prof.nodeArgs }) });
        const summary = prof?.summary(run.requests) ?? '';
        if (summary !== '') profiles.push(`node CPU profile, ${label} (self time per request):`, '', summary, '');
        rows.push({ users, order, server, rps: run.rps, cpuUs: run.cpuUsPerRequest, cpuBy: cpuCell(run), p99: run.latency.p99, check: run.check });
        say(`    ${users} ${order} ${server}: ${run.rps} req/s, CPU ${run.cpuUsPerRequest} µs/request (${cpuCell(run)}), ${run.check}`);
      }
    }
  }
  const find = (u: number, o: string, s: Server): (typeof rows)[number] | undefined => rows.find((r) => r.users === u && r.order === o && r.server === s);
  const md = [
    `| users | order | server | req/s | vs ceiling | CPU µs/request | vs ceiling-auth | by process | p99 ms |`,
    `|---|---|---|---|---|---|---|---|---|`,
    ...rows.map((r) => {
      const c = find(r.users, r.order, 'ceiling');
      const a = find(r.users, r.order, 'ceiling-auth');
      return `| ${r.users.toLocaleString('en')} | ${r.order === 'cycle' ? 'all cycling in order' : '1–3 clicks each, random moments'} | ${r.server} | ${r.rps} | ${ratio(r.rps, c?.rps ?? 0)}× | ${r.cpuUs} | ${ratio(r.cpuUs, a?.cpuUs ?? 0)}× | ${r.cpuBy} | ${r.p99} |`;
    }),
    ...(profiles.length === 0 ? [] : ['', ...profiles]),
  ].join('\n');
  const groups = rows.filter((r) => r.server === 'seckill').map((r) => `${r.users / 1000}k ${r.order === 'cycle' ? 'cycle' : 'random'}`);
  const pick = (s: Server, f: (r: (typeof rows)[number]) => number): number[] => rows.filter((r) => r.server === s).map(f);
  charts['crowd-rps'] = barChart('crowd (sold out): req/s', 'req/s', groups, servers.map((s) => ({ name: s, values: pick(s, (r) => r.rps) })));
  charts['crowd-cpu'] = barChart('crowd (sold out): server CPU µs per request', 'µs / request', groups, servers.map((s) => ({ name: s, values: pick(s, (r) => r.cpuUs) })));
  return { md, json: { settings: C, rows } };
}

async function selling(dir: string): Promise<{ md: string; json: unknown }> {
  const L = S.selling;
  say(`selling: seckill selling to fresh users only (stock ${L.users.toLocaleString('en')}, users in order, every answer a win), ${L.durationS} s, ${GEN}${profile ? ', node --cpu-prof' : ''}`);
  const tokens = mintTokens(L.users, 's');
  const file = writeTokens(path.join(dir, 'selling.txt'), tokens);
  const prof = profiler(dir, 'selling-seckill', 'won request');
  const rows: Record<string, unknown>[] = [];
  for (const server of ['ceiling-auth', 'seckill'] as const) {
    const run = await runOne(server, 0, dir, {
      event: `selling${server.replace('-', '')}`,
      stock: L.users,
      tokens,
      tokensFile: file,
      order: 'cycle',
      prefix: 's',
      connections: L.connections,
      durationS: L.durationS,
      ...(prof !== undefined && server === 'seckill' ? { nodeArgs: prof.nodeArgs } : {}),
    });
    const wins = run.outcomes[0] ?? 0;
    if (server === 'seckill' && wins < run.requests * 0.99) fail(`selling: ${wins} wins of ${run.requests} answers`);
    rows.push({ server, rps: run.rps, wins, cpuUs: run.cpuUsPerRequest, cpuBy: run.cpuUsByProcess, p99: run.latency.p99, check: run.check, redis: redisCell(run, wins) });
    say(`    ${server}: ${run.rps} req/s, ${wins} wins, CPU ${run.cpuUsPerRequest} µs/request (${cpuCell(run)}), ${run.check}`);
    if (server === 'seckill') say(`    redis command time per won request: ${redisCell(run, wins)}`);
  }
  const seckillWins = (rows.find((r) => r.server === 'seckill') as { wins: number } | undefined)?.wins ?? 0;
  const top = prof?.summary(seckillWins) ?? '';
  const md = [
    '| server | req/s | wins | CPU µs/request | by process | p99 ms |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${String(r.server)} | ${String(r.rps)} | ${String(r.wins)} | ${String(r.cpuUs)} | ${Object.entries(r.cpuBy as Record<string, number>).map(([n, v]) => `${n} ${v}`).join(' + ')} | ${String(r.p99)} |`),
    '',
    `Redis' own command time per won request (INFO commandstats): ${String(rows.find((r) => r.server === 'seckill')?.redis ?? '–')}.`,
    ...(top === '' ? [] : ['', 'node CPU profile of seckill (self time per won request, by part, then the top functions):', '', top]),
  ].join('\n');
  return { md, json: { settings: L, rows } };
}

/**
 * The whole sale of the main section (same stock, users and hot repeats),
 * open-loop at fixed rates, ceiling-auth and seckill: up to what rate the
 * tail stays short, and where the selling phase starts to queue.
 */
async function latency(tokens: string[], tokensFile: string, dir: string): Promise<{ md: string; json: unknown }> {
  const L = S.latency;
  say(`latency: the main section's whole sale (stock ${S.stock.toLocaleString('en')}), open-loop at ${L.rates.map((r) => r.toLocaleString('en')).join(', ')} req/s, ${L.connections} connections, ${L.durationS} s each`);
  const rows: { rate: number; server: string; answered: number; p50: number; p90: number; p99: number; p999: number; max: number; waited: number; lagP99: number; behind: boolean; wins: number; slow: string }[] = [];
  for (const rate of L.rates) {
    for (const [server, warm] of [['ceiling-auth', false], ['seckill', false], ['seckill', true]] as const) {
      const run = await runOne(server, 0, dir, { event: `lat${rate}${server.replace('-', '')}${warm ? 'w' : ''}`, stock: S.stock, tokens, tokensFile, order: `hot:${S.repeatEvery}`, connections: L.connections, durationS: L.durationS, rate, generator: 'open-loop', ...(warm ? { warmupS: 3 } : {}) });
      const ol = run.openLoop!;
      const slow = `${ol.slowBySecond.reduce((a, b) => a + b, 0)} (${ol.slowWins} wins); by second: ${ol.slowBySecond.join(' ')}`;
      rows.push({ rate, server: warm ? 'seckill, warm' : server, slow, answered: run.rps, p50: run.latency.p50, p90: run.latency.p90, p99: run.latency.p99, p999: ol.latencyP999, max: run.latency.max, waited: ol.waitedForConnection, lagP99: ol.lagMs.p99, behind: ol.behind, wins: run.outcomes[0] ?? 0 });
      say(`    ${rate} ${server}${warm ? ', warm' : ''}: p50 ${run.latency.p50} ms, p99 ${run.latency.p99} ms, max ${run.latency.max} ms, ${describeOpenLoop(ol)}`);
    }
  }
  const md = [
    '| target req/s | server | answered req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | over 5 ms (wins); by second due | waited | generator lag p99 ms | behind schedule |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.rate} | ${r.server} | ${r.answered} | ${r.p50} | ${r.p90} | **${r.p99}** | ${r.p999} | ${r.max} | ${r.slow} | ${r.waited} | ${r.lagP99} | ${r.behind ? 'yes' : 'no'} |`),
    '',
    '"seckill, warm": the same, on a server that first sold another event for 3 s (5,000 units, 5,000 req/s; not measured).',
  ].join('\n');
  return { md, json: { settings: L, rows } };
}

async function link3m(tokens: string[], tokensFile: string, dir: string): Promise<{ md: string; json: unknown }> {
  const why = cannotShape();
  if (why !== undefined) {
    say(`link3m: skipped: ${why}`);
    return { md: `link3m skipped: ${why}.`, json: { skipped: why } };
  }
  const L = S.link3m;
  say(`link3m: answers shaped to ${L.rate} (tbf burst 32kbit latency 400ms) in a network namespace, ${L.connections} connections, ${L.durationS} s per server, ${GEN}`);
  const link = createShapedLink();
  const rows: Record<string, unknown>[] = [];
  try {
    for (const server of SERVERS) {
      say(`  ${server}`);
      const before = link.sent();
      const run = await runOne(server, 0, dir, { event: `link${server.replace('-', '')}`, stock: S.stock, tokens, tokensFile, order: `hot:${S.repeatEvery}`, connections: L.connections, durationS: L.durationS, host: link.serverAddr, netns: link.netns });
      const after = link.sent();
      // Everything the server sent in the run (answers, their TCP/IP headers, ACKs, handshakes), per answer.
      const wireBytes = Math.round((after.bytes - before.bytes) / Math.max(1, run.requests));
      rows.push({ server, decisionsPerS: run.rps, p50: run.latency.p50, p99: run.latency.p99, httpBytes: run.bytesPerResponse, wireBytes, errors: run.errors + run.timeouts, check: run.check });
      say(`    ${run.rps} decisions/s, ${wireBytes} wire bytes/answer (${run.bytesPerResponse} HTTP), p99 ${run.latency.p99} ms, ${run.check}`);
    }
  } finally {
    link.close();
  }
  const get = (s: string): Record<string, number> => rows.find((r) => r.server === s) as Record<string, number>;
  const ratios = {
    seckillPerCeiling: ratio(get('seckill').decisionsPerS ?? 0, get('ceiling').decisionsPerS ?? 0),
    seckillPerConventional: ratio(get('seckill').decisionsPerS ?? 0, get('conventional').decisionsPerS ?? 0),
  };
  const md = [
    `| server | decisions/s | p50 ms | p99 ms | HTTP bytes/answer | wire bytes/answer | errors+timeouts |`,
    `|---|---|---|---|---|---|---|`,
    ...rows.map((r) => `| ${String(r.server)} | ${String(r.decisionsPerS)} | ${String(r.p50)} | ${String(r.p99)} | ${String(r.httpBytes)} | ${String(r.wireBytes)} | ${String(r.errors)} |`),
    '',
    `seckill / ceiling decisions/s: **${ratios.seckillPerCeiling}×** · seckill / conventional: **${ratios.seckillPerConventional}×**`,
  ].join('\n');
  return { md, json: { settings: L, rows, ratios } };
}

async function million(dir: string): Promise<{ md: string; json: unknown }> {
  const M = S.million;
  say(`million: ${M.users.toLocaleString('en')} distinct users in order, stock ${M.stock.toLocaleString('en')}, ${M.connections} connections, ${M.durationS} s, ${GEN}`);
  process.stdout.write(`  minting ${M.users.toLocaleString('en')} tokens ... `);
  const tokens = mintTokens(M.users, 'm');
  const file = writeTokens(path.join(dir, 'million.txt'), tokens);
  say('done');
  const rows: Record<string, unknown>[] = [];
  for (const server of ['ceiling', 'ceiling-auth', 'seckill'] as const) {
    say(`  ${server}`);
    const run = await runOne(server, 0, dir, { event: `million${server.replace('-', '')}`, stock: M.stock, tokens, tokensFile: file, order: 'cycle', prefix: 'm', connections: M.connections, durationS: M.durationS });
    rows.push({ server, rps: run.rps, cpuUs: run.cpuUsPerRequest, p99: run.latency.p99, max: run.latency.max, answered: run.requests, errors: run.errors + run.timeouts, outcomes: run.outcomes, mysqlS: run.mysqlMs === undefined ? undefined : +(run.mysqlMs / 1000).toFixed(2), rss: run.peakRssMiB, check: run.check });
    say(`    ${run.requests.toLocaleString('en')} answered (${run.rps} req/s, CPU ${run.cpuUsPerRequest} µs/request, p99 ${run.latency.p99} ms)${run.mysqlMs === undefined ? '' : `; all orders in MySQL ${(run.mysqlMs / 1000).toFixed(2)} s after the last answer`}, ${run.check}`);
  }
  const get = (s: string): Record<string, number> => rows.find((r) => r.server === s) as Record<string, number>;
  const md = [
    `| server | req/s | CPU µs/request | p99 ms | max ms | answered | errors+timeouts | last answer → all orders in MySQL | peak RSS MiB |`,
    `|---|---|---|---|---|---|---|---|---|`,
    ...rows.map((r) => `| ${String(r.server)} | ${String(r.rps)} | ${String(r.cpuUs)} | ${String(r.p99)} | ${String(r.max)} | ${String(r.answered)} | ${String(r.errors)} | ${r.mysqlS === undefined ? '–' : `${String(r.mysqlS)} s`} | ${String(r.rss)} |`),
    '',
    `seckill / ceiling req/s: **${ratio(get('seckill').rps ?? 0, get('ceiling').rps ?? 0)}×** · CPU seckill / ceiling-auth: **${ratio(get('seckill').cpuUs ?? 0, get('ceiling-auth').cpuUs ?? 0)}×** · seckill outcomes: ${JSON.stringify(get('seckill').outcomes)}`,
  ].join('\n');
  return { md, json: { settings: M, rows } };
}

async function bench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbench-'));
  say(`seckill bench (${quick ? 'quick' : 'full'}): ${[...only].join(', ')}; generator: ${GEN}${HAS_WRK ? '' : ' (wrk not installed: apt-get install wrk)'}; half-load latency: open-loop (bench/open-loop.ts); the generator shares the machine's ${os.cpus().length} cores with the servers`);
  const sections: string[] = [];
  const json: Record<string, unknown> = { date: new Date().toISOString(), machine: machine(), settings: S };
  try {
    const tokens = only.has('main') || only.has('link3m') || only.has('latency') ? mintTokens(S.users) : [];
    const tokensFile = writeTokens(path.join(dir, 'main.txt'), tokens);
    const sectionFns: Record<string, () => Promise<{ md: string; json: unknown }>> = {
      main: () => main(tokens, tokensFile, dir),
      crowd: () => crowd(dir),
      selling: () => selling(dir),
      latency: () => latency(tokens, tokensFile, dir),
      link3m: () => link3m(tokens, tokensFile, dir),
      million: () => million(dir),
      lots: () => sellingLots(dir, S.selling, say),
    };
    for (const [name, fn] of Object.entries(sectionFns)) {
      if (!only.has(name)) continue;
      const r = await fn();
      sections.push(`### ${name}\n\n${r.md}`);
      json[name] = r.json;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const md = sections.join('\n\n');
  say('\n' + md);
  const name = quick ? 'bench-quick' : 'bench';
  writeResult(name, json, md);
  const svgs = Object.entries(charts).flatMap(([chart, svg]) => writeFile(`${name}-${chart}.svg`, svg));
  if (svgs.length > 0) say(`charts: ${svgs.join(', ')}${SAVE ? '' : ' (bench/README.md shows the saved ones)'}`);
}

bench().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
