/**
 * An open-loop HTTP load generator in the manner of wrk2 (which Debian does
 * not package): request k is due at t0 + k / rate, evenly spaced, whatever
 * the server does, and its latency counts from that due time, not from the
 * moment a connection was free to send it. A server that stalls for 200 ms
 * so shows 200 ms on every request due during the stall, not on one
 * (coordinated omission). autocannon's `overallRate` instead sends each
 * second's quota per connection in a burst.
 *
 * Raw `net` sockets, HTTP/1.1 keep-alive, a fixed number of connections with
 * one request in flight each. A request due while every connection is busy
 * waits for the first one free (its wait is part of its latency). Timers in
 * Node fire at 1 ms at best, so a request is sent at its due time or at the
 * next timer tick or answer, whichever comes first: at 40,000 req/s that is
 * about 40 requests per millisecond, as with wrk2's millisecond timers.
 *
 * The generator checks itself: `lagMs` is how late each request left after
 * it was due and a connection was free (the generator's own delay, which is
 * in the latencies too), `cpuPercent` its CPU time over the run (of one
 * core) and `eventLoopUtilization` how busy its event loop was. `behind` says
 * it could not keep the schedule, and the numbers then describe it more
 * than the server.
 *
 *   node dist/bench/open-loop.js URL EVENT RATE [SECONDS] [CONNECTIONS]
 * (tokens signed with SECKILL_JWT_SECRET, else the bench secret).
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { createSigner } from 'fast-jwt';
import { LatencyHistogram } from './latency-histogram';
import { BENCH_SECRET, type LoadResult } from './load';

export interface OpenLoopOptions {
  readonly url: string;
  readonly event: string;
  readonly tokens: readonly string[];
  readonly connections: number;
  /** Requests per second, all connections together. */
  readonly rate: number;
  readonly durationS: number;
  /** Every n-th request is a repeat click of a "hot" user (1 % of them), as in load.ts; 0: users in order. */
  readonly repeatEvery: number;
  readonly label: string;
  /** After the last request is due, how long to wait for answers before counting the rest as timeouts. */
  readonly drainS?: number;
  /** Called about once a second with the responses so far. */
  readonly onTick?: (responses: number) => void;
  /** Keep each request's send time (ms since t0), for tests. */
  readonly keepSendTimes?: boolean;
}

export interface OpenLoopStats {
  readonly targetRate: number;
  /** Requests due in the run, and sent. */
  readonly scheduled: number;
  readonly sent: number;
  /** How late requests left after they were due and a connection was free: the generator's own delay. */
  readonly lagMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Requests that were due while every connection was busy (the server was behind, not the generator). */
  readonly waitedForConnection: number;
  readonly latencyP999: number;
  /** The generator's CPU time over the run, % of one core. */
  readonly cpuPercent: number;
  readonly eventLoopUtilization: number;
  /** The generator could not keep its schedule (lag p99 over 2 ms or its event loop over 90 % busy). */
  readonly behind: boolean;
  readonly sendTimesMs?: readonly number[];
  /** Requests over 5 ms, by the second of the run they were due in, and how many of them were wins: where the tail comes from. */
  readonly slowBySecond: readonly number[];
  readonly slowWins: number;
}

/** What "slow" means for slowBySecond: the p99 target of the bench. */
const SLOW_MS = 5;

export interface OpenLoopResult extends LoadResult {
  readonly openLoop: OpenLoopStats;
}

interface Conn {
  socket: net.Socket;
  buf: Buffer | undefined;
  /** The request in flight: when its latency starts (its due time, or its send time when sent early), or -1. */
  due: number;
  user: number;
  freedAt: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');
/**
 * Node's timers fire on whole milliseconds, up to one late: a request may
 * leave up to this much before it is due, so the timer's own lateness stays
 * out of the latency. Its latency then counts from when it left.
 */
const LOOKAHEAD_MS = 1;

/** The outcome code from a body `{"c":N,...}`, or 100 + HTTP status when there is none. */
function outcomeOf(status: number, body: string): number {
  const m = /^\{"c":(\d+)/.exec(body);
  return m ? Number(m[1]) : 100 + status;
}

export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const target = new URL(o.url);
  const host = target.hostname;
  const port = Number(target.port || 80);
  const head = `POST /events/${o.event}/buy HTTP/1.1\r\nhost: ${target.host}\r\ncontent-length: 0\r\nauthorization: Bearer `;
  const hot = Math.max(1, Math.floor(o.tokens.length / 100));
  const intervalMs = 1000 / o.rate;
  const total = Math.floor(o.rate * o.durationS);
  const latency = new LatencyHistogram();
  const slowBySecond: number[] = [];
  let slowWins = 0;
  const lag = new LatencyHistogram();
  const outcomes: Record<number, number> = {};
  const bytes: Record<number, number> = {};
  const winners = new Set<number>();
  const used = new Set<number>();
  const sendTimes: number[] = [];
  let nextUser = 0;
  let next = 0;
  let sent = 0;
  let responses = 0;
  let errors = 0;
  let non2xx = 0;
  let waited = 0;
  let lastWaited = -1;
  let inFlight = 0;
  let t0 = 0;
  let lastDone = 0;
  let stopped = false;
  let onIdle: (() => void) | undefined;
  const free: Conn[] = [];

  const userOf = (n: number): number => (o.repeatEvery > 0 && n % o.repeatEvery === o.repeatEvery - 1 ? Math.floor(n / o.repeatEvery) % hot : nextUser++ % o.tokens.length);

  function send(c: Conn, due: number, now: number): void {
    const user = userOf(next);
    used.add(user);
    c.due = Math.min(due, now);
    c.user = user;
    // Latency counts from the due time; the lag is only what the generator added after a connection was free.
    lag.record(Math.max(0, now - Math.max(due, c.freedAt)) * 1000);
    if (o.keepSendTimes) sendTimes.push(now - t0);
    inFlight++;
    sent++;
    c.socket.write(head + (o.tokens[user] ?? '') + '\r\n\r\n', 'latin1');
  }

  function dispatch(now: number): void {
    while (!stopped && next < total) {
      const due = t0 + next * intervalMs;
      if (due > now + LOOKAHEAD_MS) return;
      const c = free.pop();
      if (c === undefined) {
        // Counted once, however many ticks find it waiting: the next answer sends it.
        if (lastWaited !== next) waited++;
        lastWaited = next;
        return;
      }
      send(c, due, now);
      next++;
    }
  }

  function complete(c: Conn, status: number, body: string, size: number, now: number): void {
    const code = outcomeOf(status, body);
    outcomes[code] = (outcomes[code] ?? 0) + 1;
    bytes[code] = (bytes[code] ?? 0) + size;
    if (status < 200 || status > 299) non2xx++;
    if (code === 0) winners.add(c.user);
    latency.record((now - c.due) * 1000);
    if (now - c.due > SLOW_MS) {
      const second = Math.max(0, Math.floor((c.due - t0) / 1000));
      slowBySecond[second] = (slowBySecond[second] ?? 0) + 1;
      if (code === 0) slowWins++;
    }
    responses++;
    inFlight--;
    lastDone = now;
    c.due = -1;
    c.freedAt = now;
    free.push(c);
  }

  function onData(c: Conn, chunk: Buffer): void {
    const now = performance.now();
    let buf = c.buf === undefined ? chunk : Buffer.concat([c.buf, chunk]);
    for (;;) {
      const end = buf.indexOf(HEAD_END);
      if (end < 0) break;
      const headText = buf.toString('latin1', 0, end);
      const length = /\r\ncontent-length: *(\d+)/i.exec(headText);
      if (length === null) {
        // Every server in the bench sends a Content-Length; anything else is a broken answer.
        errors++;
        c.socket.destroy(new Error(`an answer without content-length: ${headText.slice(0, 80)}`));
        return;
      }
      const size = end + 4 + Number(length[1]);
      if (buf.length < size) break;
      const status = Number(headText.slice(9, 12));
      complete(c, status, buf.toString('latin1', end + 4, size), size, now);
      buf = buf.subarray(size);
    }
    c.buf = buf.length === 0 ? undefined : buf;
    dispatch(now);
    if (inFlight === 0) onIdle?.();
  }

  function connect(): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      const c: Conn = { socket, buf: undefined, due: -1, user: -1, freedAt: 0 };
      socket.once('connect', () => {
        c.freedAt = performance.now();
        resolve(c);
      });
      socket.on('data', (chunk: Buffer) => onData(c, chunk));
      socket.on('error', (err) => {
        // After the start, 'close' follows and counts it.
        if (t0 === 0) reject(err);
      });
      socket.on('close', () => {
        const i = free.indexOf(c);
        if (i >= 0) free.splice(i, 1);
        if (c.due >= 0) {
          // Its request is lost (counted in errors above, or here on a clean close).
          inFlight--;
          c.due = -1;
        }
        if (!stopped) {
          errors++;
          connect().then(
            (fresh) => {
              free.push(fresh);
              dispatch(performance.now());
            },
            () => undefined,
          );
        }
        if (inFlight === 0) onIdle?.();
      });
    });
  }

  free.push(...(await Promise.all(Array.from({ length: o.connections }, () => connect()))));
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  t0 = performance.now() + 1;
  const epoch0 = performance.timeOrigin + t0;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const now = performance.now();
    dispatch(now);
    if (next < total && !stopped) timer = setTimeout(tick, Math.max(0, t0 + next * intervalMs - LOOKAHEAD_MS - performance.now()));
  };
  timer = setTimeout(tick, 1);
  const ticker = setInterval(() => o.onTick?.(responses), 1000);
  // The schedule's end, then the answers still owed (bounded by drainS).
  await new Promise<void>((resolve) => {
    const finish = (): void => {
      clearTimeout(deadline);
      resolve();
    };
    const deadline = setTimeout(finish, (o.durationS + (o.drainS ?? 10)) * 1000);
    onIdle = (): void => {
      if (next >= total && inFlight === 0) finish();
    };
  });
  stopped = true;
  clearTimeout(timer);
  clearInterval(ticker);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  const all = [...free];
  for (const c of all) c.socket.destroy();
  const unanswered = inFlight + (total - next);
  const lagMs = lag.summaryMs();
  const latencyMs = latency.summaryMs();
  const bytesByOutcome: Record<number, number> = {};
  let allBytes = 0;
  for (const [code, n] of Object.entries(bytes)) {
    allBytes += n;
    bytesByOutcome[Number(code)] = Math.round(n / (outcomes[Number(code)] ?? 1));
  }
  const spanS = Math.max(o.durationS, (lastDone - t0) / 1000);
  return {
    label: o.label,
    requests: responses,
    rps: Math.round(responses / spanS),
    latency: { p50: latencyMs.p50, p90: latencyMs.p90, p99: latencyMs.p99, max: latencyMs.max, mean: latencyMs.mean },
    bytesPerResponse: responses === 0 ? 0 : Math.round(allBytes / responses),
    outcomes,
    bytesByOutcome,
    errors,
    timeouts: unanswered,
    non2xx,
    winners,
    distinctUsers: used.size,
    firstAt: Math.round(epoch0),
    lastAt: Math.round(performance.timeOrigin + (lastDone || t0)),
    openLoop: {
      targetRate: o.rate,
      scheduled: total,
      sent,
      lagMs: { p50: lagMs.p50, p99: lagMs.p99, max: lagMs.max },
      waitedForConnection: waited,
      latencyP999: latencyMs.p999,
      cpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100),
      eventLoopUtilization: +elu.utilization.toFixed(2),
      behind: lagMs.p99 > 2 || elu.utilization > 0.9 || sent < total,
      ...(o.keepSendTimes ? { sendTimesMs: sendTimes } : {}),
      slowBySecond: Array.from({ length: slowBySecond.length }, (_, i) => slowBySecond[i] ?? 0),
      slowWins,
    },
  };
}

/** One line for the bench: what the generator did and whether it kept up. */
export function describeOpenLoop(s: OpenLoopStats): string {
  const slow = s.slowBySecond.reduce((a, b) => a + b, 0);
  const head = `open-loop: ${s.sent}/${s.scheduled} sent at ${s.targetRate}/s, lag p50 ${s.lagMs.p50} ms p99 ${s.lagMs.p99} ms max ${s.lagMs.max} ms, ${s.waitedForConnection} waited for a connection, generator CPU ${s.cpuPercent} % of a core (event loop ${Math.round(s.eventLoopUtilization * 100)} % busy); over ${SLOW_MS} ms: ${slow} (${s.slowWins} of them wins), by second due: ${s.slowBySecond.join(' ')}`;
  return s.behind ? `${head}; BEHIND SCHEDULE: these latencies describe the generator as much as the server` : head;
}

if (require.main === module) {
  const [url, event, rate, seconds, connections] = process.argv.slice(2);
  if (url === undefined || event === undefined || rate === undefined) {
    process.stderr.write('usage: node dist/bench/open-loop.js URL EVENT RATE [SECONDS=10] [CONNECTIONS=100]\n');
    process.exit(2);
  }
  const sign = createSigner({ key: process.env.SECKILL_JWT_SECRET ?? BENCH_SECRET });
  const tokens = Array.from({ length: 10_000 }, (_, i) => sign({ sub: `user${i}` }) as string);
  void openLoop({ url, event, tokens, connections: Number(connections ?? 100), rate: Number(rate), durationS: Number(seconds ?? 10), repeatEvery: 5, label: event }).then((r) => {
    process.stdout.write(`${describeOpenLoop(r.openLoop)}\n${JSON.stringify({ rps: r.rps, latencyMs: r.latency, p999: r.openLoop.latencyP999, outcomes: r.outcomes, errors: r.errors, timeouts: r.timeouts })}\n`);
  });
}
