import path from 'node:path';
import { fail, waitForMysql } from './checks';
import { mintTokens } from './load';
import { cpuOf } from './procs';
import { startServer } from './servers';
import { HAS_WRK, loadWrk, writeTokens } from './wrk-load';

/** The SKUs of the lots run, taken in turn by the requests. */
const SKUS = ['a', 'b', 'c'];
/** Units each request asks for. */
const Q = 2;

export interface LotsSettings {
  readonly users: number;
  readonly connections: number;
  readonly durationS: number;
}

/**
 * `npm run bench -- --only lots`: seckill selling to fresh users only, as
 * the selling section, once on the plain event (limit 1, no SKUs: the fast
 * path) and once on an event sold in lots (limit 2, three SKUs, every
 * request q=2 of the next SKU in turn: `?q=2&sku=a`), each with enough stock
 * that every answer is a win. Server CPU µs per request, side by side; then
 * the sale is checked: Redis' units sold are twice the wins, each SKU's
 * count is its stock less its units, MySQL has every order.
 */
export async function sellingLots(dir: string, L: LotsSettings, say: (s: string) => void): Promise<{ md: string; json: unknown }> {
  if (!HAS_WRK) fail('lots: needs wrk (bench/wrk/buy.lua sends the queries)');
  say(`lots: seckill selling to fresh users, plain (q=1) then lots (limit 2, q=${Q}, SKUs ${SKUS.join(', ')}), ${L.durationS} s each, wrk`);
  const rows: { run: string; rps: number; wins: number; cpuUs: number; cpuBy: Record<string, number>; p99: number; check: string }[] = [];
  for (const run of ['plain', 'lots'] as const) {
    const prefix = run === 'plain' ? 'p' : 'l';
    const tokens = mintTokens(L.users, prefix);
    const file = writeTokens(path.join(dir, `${run}.txt`), tokens);
    const perSku = Math.ceil((L.users * Q) / SKUS.length) + Q;
    const event = `selling${run}`;
    const define = run === 'plain' ? {} : { stock: undefined, limit: Q, skus: Object.fromEntries(SKUS.map((s) => [s, perSku])) };
    const started = await startServer('seckill', { event, stock: run === 'plain' ? L.users : perSku * SKUS.length, dataDir: path.join(dir, event), define });
    try {
      const before = cpuOf(started.pids);
      const r = await loadWrk({
        url: `http://127.0.0.1:${started.proc.port}`, event, tokensFile: file, order: 'cycle', connections: L.connections, durationS: L.durationS, label: event,
        ...(run === 'lots' ? { queries: SKUS.map((s) => `q=${Q}&sku=${s}`).join('|') } : {}),
      });
      const after = cpuOf(started.pids);
      const perRequest = (s: number): number => +((s * 1e6) / Math.max(1, r.requests)).toFixed(1);
      const cpuBy: Record<string, number> = {};
      let cpuS = 0;
      for (const name of Object.keys(after)) {
        const d = (after[name] ?? 0) - (before[name] ?? 0);
        cpuS += d;
        cpuBy[name] = perRequest(d);
      }
      const wins = r.outcomes[0] ?? 0;
      if (wins < r.requests * 0.99) fail(`lots ${run}: ${wins} wins of ${r.requests} answers`);
      const redis = started.redis;
      if (redis === undefined) fail('lots: no Redis to check');
      const buyers = await redis.hlen(`sk:{${event}}:buyers`);
      // wrk stops with a request in flight on each connection: those may be granted, their answers never read.
      if (buyers < wins || buyers > wins + L.connections) fail(`lots ${run}: ${buyers} buyers in Redis, ${wins} wins answered (${L.connections} connections)`);
      if (run === 'lots') {
        const left = (await redis.hmget(`sk:{${event}}:meta`, ...SKUS.map((s) => `sku:${s}`))).map(Number);
        const sold = left.reduce((n, l) => n + (perSku - l), 0);
        if (sold !== buyers * Q) fail(`lots: ${sold} units sold in Redis, ${buyers} buyers of ${Q} units`);
      }
      if (started.mysqlSocket !== undefined) await waitForMysql(started.mysqlSocket, event, buyers, 300_000);
      const check = `ok: ${buyers} orders${run === 'lots' ? ` of ${Q} units` : ''} (${wins} answered), MySQL equal`;
      rows.push({ run, rps: Math.round(r.requests / L.durationS), wins, cpuUs: perRequest(cpuS), cpuBy, p99: r.latency.p99, check });
      say(`    ${run}: ${rows[rows.length - 1]?.rps} req/s, CPU ${perRequest(cpuS)} µs/request, ${check}`);
    } finally {
      await started.stop();
    }
  }
  const md = [
    '| run | req/s | wins | CPU µs/request | by process | p99 ms | check |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.run} | ${r.rps} | ${r.wins} | ${r.cpuUs} | ${Object.entries(r.cpuBy).map(([n, v]) => `${n} ${v}`).join(' + ')} | ${r.p99} | ${r.check} |`),
  ].join('\n');
  return { md, json: { settings: { ...L, q: Q, skus: SKUS }, rows } };
}
