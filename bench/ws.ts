/**
 * Decisions/s over WebSocket against HTTP, in the same run, on the same
 * seckill server (SECKILL_WORKERS=1):
 *
 * - HTTP: wrk (bench/wrk/buy.lua), one buy in flight per connection;
 * - WS, one user per connection: the same number of connections, each with
 *   its own token at the upgrade, buying `[id, event]` again on each answer;
 * - WS gateway: a few anonymous connections carrying 100 users each, one
 *   buy in flight per user, `[id, event, "<JWT>"]` (bench/ws-load.ts).
 *
 * Every client keeps the same number of buys in flight (CONCURRENCY).
 * Each on a sold-out event (every answer 1) and on a selling event (new
 * users win; stock never runs out), first on loopback, then through the
 * 3 Mbit/s link of bench/link3m.ts (needs root; skipped otherwise).
 * Measures decisions/s (answers but 5, 6, 10), server CPU µs per decision
 * (node + its redis-server and mariadbd, from /proc), and bytes per
 * decision both ways: TCP payload on loopback (HTTP requests counted from
 * what buy.lua sends), link-layer bytes on the veth on the shaped link.
 *
 *   npm run bench:ws                     (about 2.5 minutes)
 *   npm run bench:ws -- --seconds 3 --only loopback|link3m
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintTokens } from './load';
import { cannotShape, createShapedLink, RATE, type ShapedLink } from './link3m';
import { cpuOf } from './procs';
import { BENCH_ADMIN, startServer, type Started } from './servers';
import { loadWrk, writeTokens } from './wrk-load';
import { loadWs, NOT_DECIDED } from './ws-load';

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const SECONDS = Number(arg('--seconds') ?? 5);
const ONLY = new Set((arg('--only') ?? 'loopback,link3m').split(','));
/** Buys in flight at any moment, for every client. */
const CONCURRENCY = 200;
const USERS_PER_GATEWAY_CONNECTION = 100;
/** New users for the selling event (one per buy): enough for wrk's HTTP run and for the gateway's, which runs faster. */
const HTTP_USERS = 200_000;
const GATEWAY_USERS = 600_000;
/** A gateway connection holds 100 undecided buys: above the default 64 (SECKILL_WS_INFLIGHT). */
const SERVER_ENV = { SECKILL_WS_INFLIGHT: '128' };

const say = (s: string): void => void process.stdout.write(s + '\n');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Client = 'http' | 'ws-user' | 'ws-gateway';
const CLIENTS: readonly Client[] = ['http', 'ws-user', 'ws-gateway'];
const CLIENT_LABEL: Record<Client, string> = {
  http: `HTTP, ${CONCURRENCY} connections`,
  'ws-user': `WS, ${CONCURRENCY} connections × 1 user`,
  'ws-gateway': `WS, ${CONCURRENCY / USERS_PER_GATEWAY_CONNECTION} connections × ${USERS_PER_GATEWAY_CONNECTION} users`,
};

interface Row {
  link: 'loopback' | '3 Mbit/s';
  event: 'sold out' | 'selling';
  client: Client;
  decisions: number;
  decisionsPerS: number;
  notDecided: number;
  cpuUsPerDecision: number;
  /** Bytes per decision, server → client and client → server. */
  bytesIn: number;
  bytesOut: number;
  outcomes: Record<string, number>;
  /** Server CPU µs per decision by process. */
  cpuUsByProcess: Record<string, number>;
}

interface Tokens {
  readonly http: string[];
  readonly httpFile: string;
  readonly user: string[];
  readonly gateway: string[];
}

async function addEvent(base: string, event: string, stock: number): Promise<void> {
  const res = await fetch(`${base}/admin/events/${event}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${BENCH_ADMIN}` },
    body: JSON.stringify({ stock, start: Date.now() - 1000, end: Date.now() + 3_600_000 }),
  });
  if (res.status !== 201) throw new Error(`could not create ${event}: ${res.status}`);
}

/** Bytes of the request buy.lua sends for `token` (wrk reports only what it read). */
function httpRequestBytes(host: string, port: number, event: string, tokens: readonly string[]): number {
  const avgToken = tokens.reduce((s, t) => s + t.length, 0) / Math.max(1, tokens.length);
  const fixed = `POST /events/${event}/buy HTTP/1.1\r\nHost: ${host}:${port}\r\nauthorization: Bearer \r\ncontent-length: 0\r\n\r\n`.length;
  return fixed + avgToken;
}

async function runClient(started: Started, host: string, event: string, client: Client, t: Tokens, link: ShapedLink | undefined, durationS = SECONDS): Promise<Omit<Row, 'link' | 'event' | 'client'>> {
  const port = started.proc.port;
  const cpu0 = cpuOf(started.pids);
  const wire0 = link?.hostBytes();
  let outcomes: Record<string, number>;
  let seconds: number;
  let payloadIn: number;
  let payloadOut: number;
  if (client === 'http') {
    const r = await loadWrk({ url: `http://${host}:${port}`, event, tokensFile: t.httpFile, order: 'cycle', connections: CONCURRENCY, durationS, label: event });
    outcomes = r.outcomes;
    seconds = r.requests / Math.max(1, r.rps); // wrk's own duration
    payloadIn = r.bytesPerResponse * r.requests;
    payloadOut = httpRequestBytes(host, port, event, t.http) * r.requests;
  } else {
    const r = await loadWs({
      url: `ws://${host}:${port}/ws`,
      event,
      mode: client === 'ws-user' ? 'user' : 'gateway',
      connections: client === 'ws-user' ? CONCURRENCY : CONCURRENCY / USERS_PER_GATEWAY_CONNECTION,
      usersPerConnection: client === 'ws-user' ? 1 : USERS_PER_GATEWAY_CONNECTION,
      tokens: client === 'ws-user' ? t.user : t.gateway,
      durationS,
    });
    outcomes = r.outcomes;
    seconds = r.seconds;
    payloadIn = r.bytesIn;
    payloadOut = r.bytesOut;
    if (r.errors > 0) say(`    ${r.errors} socket errors`);
  }
  const cpu1 = cpuOf(started.pids);
  const wire1 = link?.hostBytes();
  let decisions = 0;
  let notDecided = 0;
  for (const [code, n] of Object.entries(outcomes)) {
    if (NOT_DECIDED.has(Number(code)) || !/^\d+$/.test(code)) notDecided += n;
    else decisions += n;
  }
  const per = (x: number): number => +(x / Math.max(1, decisions)).toFixed(1);
  let cpuS = 0;
  const cpuUsByProcess: Record<string, number> = {};
  for (const name of Object.keys(cpu1)) {
    const d = (cpu1[name] ?? 0) - (cpu0[name] ?? 0);
    cpuS += d;
    cpuUsByProcess[name] = per(d * 1e6);
  }
  // On the link: what crossed the veth (headers, ACKs, handshakes included); on loopback: TCP payload.
  const [bytesIn, bytesOut] = wire0 !== undefined && wire1 !== undefined ? [wire1.rx - wire0.rx, wire1.tx - wire0.tx] : [payloadIn, payloadOut];
  return {
    decisions,
    decisionsPerS: Math.round(decisions / seconds),
    notDecided,
    cpuUsPerDecision: per(cpuS * 1e6),
    bytesIn: per(bytesIn),
    bytesOut: per(bytesOut),
    outcomes,
    cpuUsByProcess,
  };
}

/** Waits until the server is idle (under 5 % of a core for 300 ms): the persister has written the previous run's orders. */
async function settle(started: Started): Promise<void> {
  const total = (): number => Object.values(cpuOf(started.pids)).reduce((a, b) => a + b, 0);
  const until = Date.now() + 30_000;
  for (let before = total(); Date.now() < until; ) {
    await sleep(300);
    const now = total();
    if (now - before < 0.015) return;
    before = now;
  }
  say('    (server still busy after 30 s; measuring anyway)');
}

async function scenario(name: Row['link'], dir: string, t: Tokens, link: ShapedLink | undefined): Promise<Row[]> {
  const rows: Row[] = [];
  const host = link?.serverAddr ?? '127.0.0.1';
  for (const kind of ['sold out', 'selling'] as const) {
    const event = kind === 'sold out' ? 'gone' : 'open';
    const started = await startServer('seckill', {
      event,
      stock: kind === 'sold out' ? 1 : 10_000_000,
      dataDir: path.join(dir, `${name === 'loopback' ? 'lo' : 'link'}-${event}`),
      host,
      netns: link?.netns,
      env: SERVER_ENV,
    });
    try {
      // Warm-up (JIT, token cache, connections): a second of each client on a throwaway event, so the sale itself starts cold for none.
      await addEvent(`http://${host}:${started.proc.port}`, 'warm', 10_000_000);
      for (const client of CLIENTS) await runClient(started, host, 'warm', client, t, undefined, 1);
      if (kind === 'sold out') {
        const res = await fetch(`http://${host}:${started.proc.port}/events/${event}/buy`, { method: 'POST', headers: { authorization: `Bearer ${t.user[0] ?? ''}` } });
        await res.text();
      }
      for (const client of CLIENTS) {
        await settle(started);
        const r = await runClient(started, host, event, client, t, link);
        const row: Row = { link: name, event: kind, client, ...r };
        rows.push(row);
        say(`  ${name} · ${kind} · ${CLIENT_LABEL[client]}: ${row.decisionsPerS} decisions/s, ${row.cpuUsPerDecision} µs CPU/decision, ${row.bytesIn} B in + ${row.bytesOut} B out per decision (CPU ${JSON.stringify(row.cpuUsByProcess)})${row.notDecided > 0 ? `, ${row.notDecided} not decided` : ''}`);
      }
    } finally {
      await started.stop();
    }
  }
  return rows;
}

function table(rows: readonly Row[]): string {
  const out = [
    '| link | event | client | decisions/s | × HTTP | server CPU µs/decision | bytes/decision in + out | won | not decided |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const http = rows.find((h) => h.link === r.link && h.event === r.event && h.client === 'http');
    const ratio = http === undefined ? '' : `${(r.decisionsPerS / Math.max(1, http.decisionsPerS)).toFixed(2)}×`;
    out.push(`| ${r.link} | ${r.event} | ${CLIENT_LABEL[r.client]} | ${r.decisionsPerS.toLocaleString('en')} | ${ratio} | ${r.cpuUsPerDecision} | ${r.bytesIn} + ${r.bytesOut} | ${Math.round((100 * (r.outcomes['0'] ?? 0)) / Math.max(1, r.decisions))} % | ${r.notDecided} |`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skws-'));
  process.stdout.write(`minting ${(HTTP_USERS + GATEWAY_USERS + CONCURRENCY).toLocaleString('en')} tokens ... `);
  const http = mintTokens(HTTP_USERS, 'h');
  const t: Tokens = { http, httpFile: writeTokens(path.join(dir, 'http.txt'), http), user: mintTokens(CONCURRENCY, 'w'), gateway: mintTokens(GATEWAY_USERS, 'g') };
  say('done');
  say(`${SECONDS} s per run, ${CONCURRENCY} buys in flight for every client, ${os.cpus().length} cores shared with the load generator`);
  const rows: Row[] = [];
  if (ONLY.has('loopback')) rows.push(...(await scenario('loopback', dir, t, undefined)));
  if (ONLY.has('link3m')) {
    const why = cannotShape();
    if (why !== undefined) say(`link3m: skipped: ${why}`);
    else {
      say(`link3m: answers shaped to ${RATE} (tbf) in a network namespace`);
      const link = createShapedLink();
      try {
        rows.push(...(await scenario('3 Mbit/s', dir, t, link)));
      } finally {
        link.close();
      }
    }
  }
  const md = table(rows);
  say('\n' + md);
  const outDir = path.resolve(__dirname, '..', '..', 'bench', 'out');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `ws-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ settings: { SECONDS, CONCURRENCY, USERS_PER_GATEWAY_CONNECTION, SERVER_ENV, rate: RATE }, rows }, null, 2));
  say(`\nwrote ${file}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
