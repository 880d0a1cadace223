import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import t, { type Test } from 'tap';
import { LatencyHistogram } from '../../bench/latency-histogram';
import { openLoop } from '../../bench/open-loop';

/** A keep-alive server that answers `{"c":1}` to every buy, records when each request arrived and its token, and can hold one answer back. */
async function server(t: Test, holdNth = 0, holdMs = 0): Promise<{ url: string; arrivals: number[]; tokens: string[] }> {
  const arrivals: number[] = [];
  const tokens: string[] = [];
  const s = http.createServer((req, res) => {
    arrivals.push(performance.now());
    tokens.push((req.headers.authorization ?? '').slice(7));
    if (arrivals.length === holdNth) setTimeout(() => res.end('{"c":1}'), holdMs);
    else res.end('{"c":1}');
  });
  s.keepAliveTimeout = 10_000;
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  t.teardown(() => new Promise<void>((resolve) => s.close(() => resolve())));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, arrivals, tokens };
}

const TOKENS = Array.from({ length: 50 }, (_, i) => `tok${i}`);

t.test('the histogram reads percentiles within its precision', async (t) => {
  const h = new LatencyHistogram();
  for (let us = 1; us <= 10_000; us++) h.record(us);
  const s = h.summaryMs();
  t.ok(Math.abs(s.p50 - 5) <= 0.05, `p50 ${s.p50} ms ≈ 5`);
  t.ok(Math.abs(s.p99 - 9.9) <= 0.08, `p99 ${s.p99} ms ≈ 9.9`);
  t.equal(s.max, 10, 'max exact');
  t.ok(Math.abs(s.mean - 5) <= 0.01, 'mean');
  h.record(3_600_000_000);
  t.equal(h.summaryMs().max, 3_600_000, 'an hour fits');
});

t.test('requests leave evenly spaced over the second, not in a burst, users in order', async (t) => {
  const s = await server(t);
  const r = await openLoop({ url: s.url, event: 'e1', tokens: TOKENS, connections: 4, rate: 200, durationS: 1, repeatEvery: 0, label: 'even', keepSendTimes: true });
  t.equal(r.requests, 200, 'every request due in the second is answered');
  t.equal(r.errors + r.timeouts, 0, 'no errors');
  t.same(r.outcomes, { 1: 200 }, 'outcomes counted from the bodies');
  t.same(s.tokens.slice(0, 100), Array.from({ length: 100 }, (_, i) => TOKENS[i % 50]), 'users in order');
  const sends = r.openLoop.sendTimesMs ?? [];
  const gaps = sends.slice(1).map((x, i) => x - sends[i]!).sort((a, b) => a - b);
  const median = gaps[gaps.length >> 1] ?? 0;
  t.ok(median >= 4 && median <= 6, `the median gap between sends is ${median.toFixed(2)} ms (due every 5 ms)`);
  // By arrival at the server, in ten 100 ms windows: a once-a-second burst puts nearly all 200 in one.
  const start = s.arrivals[0]!;
  const windows = Array.from({ length: 10 }, (_, w) => s.arrivals.filter((a) => a - start >= w * 100 && a - start < (w + 1) * 100).length);
  t.ok(
    windows.every((n) => n >= 5 && n <= 60),
    `every 100 ms window holds 5 to 60 of the 200 (expected 20): ${windows.join(' ')}`,
  );
  t.equal(r.openLoop.scheduled, 200);
  t.equal(r.openLoop.sent, 200);
  t.ok(r.openLoop.cpuPercent >= 0 && r.openLoop.eventLoopUtilization >= 0, 'it reports its own CPU and event loop use');
});

t.test('latency counts from the due time: a 300 ms stall shows on every request due during it', async (t) => {
  // One connection at 100/s: the 20th answer is held 300 ms, and the ~30 requests due meanwhile wait for the connection.
  // Measured from the send, only the held request would be slow (coordinated omission); from the due time, those waiting are too.
  const s = await server(t, 20, 300);
  const r = await openLoop({ url: s.url, event: 'e1', tokens: TOKENS, connections: 1, rate: 100, durationS: 1, repeatEvery: 0, label: 'stall' });
  t.equal(r.requests, 100, 'every request answered');
  t.ok(r.latency.max >= 280, `the held request: max ${r.latency.max} ms`);
  t.ok(r.latency.p90 >= 100, `at least 10 % of requests waited behind it: p90 ${r.latency.p90} ms`);
  t.ok(r.latency.p50 < 100, `but not most: p50 ${r.latency.p50} ms`);
  t.ok(r.openLoop.waitedForConnection >= 10, `${r.openLoop.waitedForConnection} requests found the connection busy`);
  t.ok(r.openLoop.lagMs.p50 < 100, 'the wait is the server’s, not counted as the generator’s lag');
});
