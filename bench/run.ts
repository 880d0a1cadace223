/**
 * npm run bench [-- --quick] [-- --only main,link3m,million]
 *
 * main     three servers under the same load, side by side, on the same HTTP
 *          contract with the same JWTs and client settings:
 *            ceiling       raw uWS, parks each POST one tick, answers a fixed body
 *            conventional  Fastify + ioredis, one EVALSHA of the buy script per request
 *            seckill       the real server, persister on, local Redis and MariaDB
 *          Rounds alternate between them; medians, with the ratios
 *          seckill/ceiling and seckill/conventional.
 * link3m   the same servers in a network namespace whose answers go through
 *          a 3 Mbit/s tbf qdisc: decisions/s and wire bytes per answer.
 * million  1,000,000 distinct users, stock 100,000, one click each: every
 *          request answered, and the time from the last answer until every
 *          order is in MySQL (ceiling alongside, for the ratio).
 * After every run with state the sale is checked (Redis and MySQL agree,
 * nobody twice, never over stock): a failed check fails the bench.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OUTCOMES } from '../src/outcome';
import { checkRun, fail } from './checks';
import { cannotShape, createShapedLink, RATE } from './link3m';
import { load, mintTokens, type LoadResult } from './load';
import { procUsage } from './procs';
import { endProgress, progress } from './progress';
import { machine, writeResult } from './report';
import { SERVERS, startServer, type Server } from './servers';

const quick = process.argv.includes('--quick');
const onlyArg = process.argv[process.argv.indexOf('--only') + 1];
const only = new Set(process.argv.includes('--only') && onlyArg !== undefined ? onlyArg.split(',') : ['main', 'link3m', 'million']);
const S = {
  stock: quick ? 2_000 : 10_000,
  users: quick ? 20_000 : 100_000,
  connections: quick ? 50 : 100,
  durationS: quick ? 4 : 10,
  rounds: quick ? 1 : 3,
  repeatEvery: 5,
  link3m: { rate: RATE, durationS: quick ? 4 : 10, connections: 100 },
  million: { users: quick ? 50_000 : 1_000_000, stock: quick ? 5_000 : 100_000, connections: 100 },
};
const say = (s: string): void => void process.stdout.write(s + '\n');

interface Run extends Omit<LoadResult, 'winners'> {
  server: Server;
  round: number;
  cpuPercent: number;
  /** Server CPU time per answered request: comparable even when the load generator is the limit. */
  cpuUsPerRequest: number;
  peakRssMiB: number;
  check: string;
  mysqlMs: number | undefined;
  wallS: number;
}

interface RunOptions {
  readonly event: string;
  readonly stock: number;
  readonly tokens: readonly string[];
  readonly prefix?: string;
  readonly connections: number;
  readonly durationS?: number;
  readonly amount?: number;
  readonly repeatEvery: number;
  readonly overallRate?: number;
  readonly host?: string;
  readonly netns?: string;
}

async function runOne(server: Server, round: number, dir: string, o: RunOptions): Promise<Run> {
  const started = await startServer(server, { event: o.event, stock: o.stock, dataDir: path.join(dir, o.event), host: o.host, netns: o.netns });
  try {
    const pid = started.proc.child.pid ?? 0;
    const before = procUsage(pid);
    const t0 = Date.now();
    const r = await load({
      url: `http://${o.host ?? '127.0.0.1'}:${started.proc.port}`,
      event: o.event,
      tokens: o.tokens,
      connections: o.connections,
      ...(o.amount === undefined ? { durationS: o.durationS } : { amount: o.amount }),
      repeatEvery: o.repeatEvery,
      ...(o.overallRate === undefined ? {} : { overallRate: o.overallRate }),
      label: o.event,
      onTick: progress(`${server}`, o.amount),
    });
    endProgress();
    const wallS = (Date.now() - t0) / 1000;
    const after = procUsage(pid);
    const { check, mysqlMs } = await checkRun(started, o.event, r, o.stock, o.prefix);
    const { winners: _w, ...rest } = r;
    const cpuS = after.cpuS - before.cpuS;
    return {
      ...rest,
      server,
      round,
      cpuPercent: Math.round((cpuS / wallS) * 100),
      cpuUsPerRequest: +((cpuS * 1e6) / Math.max(1, r.requests)).toFixed(1),
      peakRssMiB: after.peakRssMiB,
      check,
      mysqlMs,
      wallS: +wallS.toFixed(1),
    };
  } finally {
    await started.stop();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
const ratio = (a: number, b: number): number => +(a / Math.max(1e-9, b)).toFixed(2);

/** Per-outcome HTTP bytes per answer, one row per server, for the outcomes seen. */
function bytesTable(runs: Run[]): string {
  const codes = [...new Set(runs.flatMap((r) => Object.keys(r.bytesByOutcome).map(Number)))].sort((a, b) => a - b);
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

async function main(tokens: string[], dir: string): Promise<{ md: string; json: unknown }> {
  say(`main: stock ${S.stock}, ${S.users} users (every ${S.repeatEvery}th click a repeat), ${S.connections} connections, ${S.durationS} s x ${S.rounds} round(s) per server`);
  const runs: Run[] = [];
  for (let round = 0; round < S.rounds; round++) {
    for (const server of SERVERS) {
      say(`  round ${round + 1}/${S.rounds} ${server}`);
      const run = await runOne(server, round, dir, { event: `${server}${round}`, stock: S.stock, tokens, connections: S.connections, durationS: S.durationS, repeatEvery: S.repeatEvery });
      runs.push(run);
      say(`    ${run.rps} req/s, p99 ${run.latency.p99} ms, ${run.bytesPerResponse} B/response, ${run.check}`);
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
    rss: med(s, (r) => r.peakRssMiB),
  }));
  const get = (s: Server): (typeof rows)[number] => rows.find((r) => r.server === s)!;
  // Latency at half of each server's own peak: the load a sale is sized for, not the edge of collapse.
  const half: Record<string, { rate: number; p50: number; p99: number; max: number }> = {};
  for (const server of ['conventional', 'seckill'] as const) {
    const rate = Math.round(get(server).rps / 2);
    say(`  half load: ${server} at ${rate} req/s`);
    const run = await runOne(server, 99, dir, { event: `${server}half`, stock: S.stock, tokens, connections: S.connections, durationS: S.durationS, repeatEvery: S.repeatEvery, overallRate: rate });
    half[server] = { rate: run.rps, p50: run.latency.p50, p99: run.latency.p99, max: run.latency.max };
    say(`    ${run.rps} req/s, p50 ${run.latency.p50} ms, p99 ${run.latency.p99} ms, ${run.check}`);
  }
  const ratios = {
    seckillPerCeiling: ratio(get('seckill').rps, get('ceiling').rps),
    seckillPerConventional: ratio(get('seckill').rps, get('conventional').rps),
    p99SeckillPerConventional: ratio(get('seckill').p99, Math.max(1, get('conventional').p99)),
    cpuPerRequestConventionalPerSeckill: ratio(get('conventional').cpuUs, Math.max(0.1, get('seckill').cpuUs)),
    cpuPerRequestConventionalPerCeiling: ratio(get('conventional').cpuUs, Math.max(0.1, get('ceiling').cpuUs)),
  };
  const md = [
    `| server | req/s | p50 ms | p90 ms | p99 ms | max ms | bytes/response | errors+timeouts | server CPU % | server CPU µs/request | peak RSS MiB |`,
    `|---|---|---|---|---|---|---|---|---|---|---|`,
    ...rows.map((r) => `| ${r.server} | ${r.rps} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.max} | ${r.bytes} | ${r.errors} | ${r.cpu} | ${r.cpuUs} | ${r.rss} |`),
    '',
    `seckill / ceiling req/s: **${ratios.seckillPerCeiling}×** · seckill / conventional req/s: **${ratios.seckillPerConventional}×** · seckill p99 / conventional p99: **${ratios.p99SeckillPerConventional}** · CPU per request, conventional / seckill: **${ratios.cpuPerRequestConventionalPerSeckill}×**`,
    '',
    `CPU per request, conventional / ceiling: ${ratios.cpuPerRequestConventionalPerCeiling}× (the most any server on this stack could gain over conventional when the load generator is not the limit)`,
    '',
    'At half of its own peak (open-loop, autocannon `overallRate`):',
    '',
    '| server | req/s | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|',
    ...Object.entries(half).map(([s, h]) => `| ${s} | ${h.rate} | ${h.p50} | ${h.p99} | ${h.max} |`),
    '',
    'HTTP bytes per answer by outcome (status line, headers and body; last round):',
    '',
    bytesTable(runs),
    '',
    `Outcomes (seckill, last round): ${JSON.stringify(by('seckill').at(-1)?.outcomes ?? {})}`,
  ].join('\n');
  return { md, json: { rows, ratios, half, runs } };
}

async function link3m(tokens: string[], dir: string): Promise<{ md: string; json: unknown }> {
  const why = cannotShape();
  if (why !== undefined) {
    say(`link3m: skipped: ${why}`);
    return { md: `link3m skipped: ${why}.`, json: { skipped: why } };
  }
  const L = S.link3m;
  say(`link3m: answers shaped to ${L.rate} (tbf burst 32kbit latency 400ms) in a network namespace, ${L.connections} connections, ${L.durationS} s per server`);
  const link = createShapedLink();
  const rows: Record<string, unknown>[] = [];
  try {
    for (const server of SERVERS) {
      say(`  ${server}`);
      const before = link.sent();
      const run = await runOne(server, 0, dir, {
        event: `link${server}`,
        stock: S.stock,
        tokens,
        connections: L.connections,
        durationS: L.durationS,
        repeatEvery: S.repeatEvery,
        host: link.serverAddr,
        netns: link.netns,
      });
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
  say(`million: ${M.users.toLocaleString('en')} distinct users, stock ${M.stock.toLocaleString('en')}, one click each, ${M.connections} connections`);
  process.stdout.write(`  minting ${M.users.toLocaleString('en')} tokens ... `);
  const tokens = mintTokens(M.users, 'm');
  say('done');
  const rows: Record<string, unknown>[] = [];
  for (const server of ['ceiling', 'seckill'] as const) {
    say(`  ${server}`);
    const run = await runOne(server, 0, dir, { event: `million${server}`, stock: M.stock, tokens, prefix: 'm', connections: M.connections, amount: M.users, repeatEvery: 0 });
    const answered = Object.values(run.outcomes).reduce((a, b) => a + b, 0);
    if (answered !== M.users) fail(`million ${server}: ${answered} of ${M.users} requests answered`);
    if (server === 'seckill' && run.outcomes[0] !== M.stock) fail(`million: ${run.outcomes[0]} wins for stock ${M.stock}`);
    const seconds = +((run.lastAt - run.firstAt) / 1000).toFixed(2);
    const rps = Math.round(answered / seconds);
    rows.push({ server, seconds, rps, p99: run.latency.p99, max: run.latency.max, answered, errors: run.errors + run.timeouts, outcomes: run.outcomes, mysqlS: run.mysqlMs === undefined ? undefined : +(run.mysqlMs / 1000).toFixed(2), rss: run.peakRssMiB, check: run.check });
    say(`    ${answered.toLocaleString('en')} answered in ${seconds} s (${rps} req/s, p99 ${run.latency.p99} ms)${run.mysqlMs === undefined ? '' : `; all orders in MySQL ${(run.mysqlMs / 1000).toFixed(2)} s after the last answer`}, ${run.check}`);
  }
  const get = (s: string): Record<string, number> => rows.find((r) => r.server === s) as Record<string, number>;
  const md = [
    `| server | seconds to answer all | req/s | p99 ms | max ms | answered | errors+timeouts | last answer → all orders in MySQL | peak RSS MiB |`,
    `|---|---|---|---|---|---|---|---|---|`,
    ...rows.map((r) => `| ${String(r.server)} | ${String(r.seconds)} | ${String(r.rps)} | ${String(r.p99)} | ${String(r.max)} | ${String(r.answered)} | ${String(r.errors)} | ${r.mysqlS === undefined ? '–' : `${String(r.mysqlS)} s`} | ${String(r.rss)} |`),
    '',
    `seckill / ceiling req/s: **${ratio(get('seckill').rps ?? 0, get('ceiling').rps ?? 0)}×** · seckill outcomes: ${JSON.stringify(get('seckill').outcomes)}`,
  ].join('\n');
  return { md, json: { settings: M, rows } };
}

async function bench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbench-'));
  say(`seckill bench (${quick ? 'quick' : 'full'}): ${[...only].join(', ')}`);
  const sections: string[] = [];
  const json: Record<string, unknown> = { date: new Date().toISOString(), machine: machine(), settings: S };
  try {
    const tokens = only.has('main') || only.has('link3m') ? mintTokens(S.users) : [];
    if (only.has('main')) {
      const r = await main(tokens, dir);
      sections.push('### main\n\n' + r.md);
      json.main = r.json;
    }
    if (only.has('link3m')) {
      const r = await link3m(tokens, dir);
      sections.push('### link3m\n\n' + r.md);
      json.link3m = r.json;
    }
    if (only.has('million')) {
      const r = await million(dir);
      sections.push('### million\n\n' + r.md);
      json.million = r.json;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const md = sections.join('\n\n');
  say('\n' + md);
  writeResult(quick ? 'bench-quick' : 'bench', json, md);
}

bench().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
