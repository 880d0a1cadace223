import t from 'tap';
import { OUTCOMES } from '../src/outcome';
import { Histogram, Registry } from 'prom-client';
import { ScriptTimeWindow } from '../src/dashboard/script-time';
import { DashboardFeed } from '../src/dashboard/feed';
import { HistorySampler } from '../src/dashboard/history';
import type { SaleEvent } from '../src/events/sale-event';
import type { Snapshot } from '../src/dashboard/snapshot';
import { ADMIN, buy, count, openEvent, putEvent, testApp, token } from './helpers/app';
import { until } from './helpers/wait';

/** Reads snapshots from GET /admin/stream until `done` says so; returns the last one. */
async function readStream(
  base: string,
  done: (s: Snapshot) => boolean,
  signal?: AbortSignal,
): Promise<{ last: Snapshot; frames: number; headers: Headers }> {
  const res = await fetch(`${base}/admin/stream`, { headers: { authorization: `Bearer ${ADMIN}` }, signal });
  if (res.status !== 200 || res.body === null) throw new Error(`stream answered ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let frames = 0;
  try {
    for (;;) {
      const { value, done: ended } = await reader.read();
      if (ended) throw new Error('stream ended');
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (data === undefined) continue;
        t.match(frame, /^event: snapshot$/m);
        frames++;
        const s = JSON.parse(data) as Snapshot;
        if (done(s)) return { last: s, frames, headers: res.headers };
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

t.test('the page is served to anyone and holds no sale data; the stream needs the admin token', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'hushhush', 3);

  const page = await fetch(`${app.base}/admin/`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  t.match(page.headers.get('content-security-policy'), /default-src 'none'.*connect-src 'self'/);
  t.equal(page.headers.get('referrer-policy'), 'no-referrer');
  const html = await page.text();
  t.match(html, /<script src="dashboard\.js"/);
  t.notMatch(html, /hushhush/, 'no event id in the page');
  for (const [file, type] of [['dashboard.js', /^text\/javascript/], ['dashboard.css', /^text\/css/]] as const) {
    const res = await fetch(`${app.base}/admin/${file}`);
    t.equal(res.status, 200, file);
    t.match(res.headers.get('content-type'), type);
    t.notMatch(await res.text(), /hushhush/);
  }
  const bare = await fetch(`${app.base}/admin`, { redirect: 'manual' });
  t.same([bare.status, bare.headers.get('location')], [302, '/admin/'], 'the page is /admin/, with its slash: /admin leads there');
  t.equal((await fetch(`${app.base}/admin/`, { method: 'POST' })).status, 405);
  t.equal((await fetch(`${app.base}/admin/stream`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } })).status, 405);

  for (const [what, headers] of [
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer not-the-admin-token' }],
    ['a buyer token', { authorization: `Bearer ${token('alice')}` }],
    ['the admin token without Bearer', { authorization: ADMIN }],
  ] as const) {
    const res = await fetch(`${app.base}/admin/stream`, { headers });
    t.equal(res.status, 401, `${what}: 401`);
    t.equal(res.headers.get('www-authenticate'), 'Bearer');
    const body = await res.text();
    t.same(JSON.parse(body), { c: 8, error: what === 'no token' ? 'admin token required' : 'wrong admin token' }, `${what}: says which`);
    t.notMatch(body, /hushhush/);
  }
});

t.test('the stream follows a sale: remaining, answers, rates, queue, lag, process', async (t) => {
  const app = await testApp(t, { queueCapacity: 4321 });
  await openEvent(t, app.base, 'flash', 10);
  const later = Date.now() + 3_600_000;
  t.equal((await putEvent(app.base, 'later', { stock: 7, start: later, end: later + 60_000, name: 'Later sale' })).status, 201);

  const first = await readStream(app.base, () => true);
  t.match(first.headers.get('content-type'), /^text\/event-stream/);
  t.equal(first.headers.get('cache-control'), 'no-store');
  const s = first.last;
  t.equal(s.process.pid, process.pid, 'the process it is connected to');
  t.type(s.process.host, 'string');
  t.same(s.queue, { waiting: 0, parked: 0, capacity: 4321 });
  t.equal(s.redis, 'ready');
  t.same(s.script, { p50: null, p99: null, calls: 0, windowS: 0 }, 'no script call yet');
  t.equal(s.persisting, false, 'MYSQL_URL=none: no persister, orders in the stream are not late');
  t.same(s.events.map((e) => [e.id, e.state]), [['flash', 'open'], ['later', 'scheduled']], 'open first, then scheduled');
  const later0 = s.events[1];
  t.match(later0, { name: 'Later sale', stock: 7, remaining: 7, remainingFrom: 'redis', start: later, end: later + 60_000, payWithin: 0 });
  t.equal(later0?.sample, null, 'not sampled an hour before its start');
  t.match(s.events[0], { stock: 10, remaining: 10, unpersisted: 0 });
  t.equal(s.events[0]?.answers.won, 0);

  // The sale, over real HTTP, while a stream is open.
  const watching = readStream(app.base, (x) => {
    const e = x.events.find((e) => e.id === 'flash');
    return e !== undefined && e.remaining === 0 && e.answers.won === 10 && e.answers.sold_out === 5 && e.soldOutAt !== null && e.sample?.[1] === 0;
  });
  const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => buy(app.base, 'flash', `u${i}`)));
  t.equal(count(answers, (a) => a.c === 0), 10);
  const { last } = await watching;
  const flash = last.events.find((e) => e.id === 'flash');
  t.match(flash, { remaining: 0, remainingFrom: 'redis', unpersisted: 10 }, 'MYSQL_URL=none: the ten orders stay in the stream');
  t.same(flash?.totals, { requests: 15, won: 10, soldOut: 5, buyers: 10 }, 'the sale in totals');
  t.same(flash?.payments, { due: 0, paid: 0, expired: 0 }, 'no payment deadline: nothing due');
  t.equal(flash?.step, 1000, 'a sample a second');
  const start = app.catalog.get('flash')?.start ?? 0;
  t.ok(flash?.soldOutAt != null && flash.soldOutAt >= start - 1000 && flash.soldOutAt <= Date.now(), 'when it sold out, from its history');
  t.equal(flash?.sample?.length, 2 + OUTCOMES.length, 'the newest sample: time, units left, answers by outcome');
  t.ok((last.script.calls ?? 0) >= 1, 'script calls counted');
  t.ok(last.script.p50 !== null && last.script.p50 > 0 && last.script.p99 !== null && last.script.p99 >= last.script.p50, 'p50 <= p99');

  // Rates: the ticks that saw the answers report them per second.
  // Rates are differences between ticks: buy only once the stream has had its first one.
  let soldOutPerSecond = 0;
  let firstTick: () => void = () => undefined;
  const ticked = new Promise<void>((resolve) => (firstTick = resolve));
  const rated = readStream(app.base, (x) => {
    firstTick();
    const e = x.events.find((e) => e.id === 'flash');
    soldOutPerSecond = Math.max(soldOutPerSecond, e?.rates.sold_out ?? 0);
    return soldOutPerSecond > 0;
  });
  await ticked;
  t.equal((await buy(app.base, 'flash', 'late-comer')).c, 1);
  await rated;
  t.ok(soldOutPerSecond > 0, 'a sold-out answer shows as a rate');
});

t.test('payment state: due, paid, expired', async (t) => {
  const app = await testApp(t);
  t.equal((await putEvent(app.base, 'paying', { stock: 3, payWithin: 900 })).status, 201);
  const won = await Promise.all(['p1', 'p2'].map((u) => buy(app.base, 'paying', u)));
  t.same(won.map((a) => a.c), [0, 0]);
  const paid = await fetch(`${app.base}/events/paying/orders/${won[0]?.o}/paid`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
  t.equal(paid.status, 200);
  const { last } = await readStream(app.base, (x) => x.events.find((e) => e.id === 'paying')?.payments?.paid === 1);
  t.match(last.events.find((e) => e.id === 'paying'), { payWithin: 900, payments: { due: 1, paid: 1, expired: 0 }, totals: { won: 2, buyers: 2 } });
});

t.test('streams are bounded, the feed ticks only while watched, and closing the server ends them', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'e', 1);

  // A feed of its own over the same sources, to look at its subscribers.
  const history = new HistorySampler(app.redis, () => app.catalog.all());
  const sources = { catalog: app.catalog, queue: app.queue, redis: app.redis, registry: app.metrics.registry, processes: (e: SaleEvent) => app.fleet.processes(e), history, persisting: false };
  const feed = new DashboardFeed(sources, { tickMs: 20, maxSubscribers: 2, scriptWindowS: 1 });
  t.teardown(() => feed.close());
  const frames: string[] = [];
  const got = (): Promise<void> => new Promise((resolve) => ((notify = resolve)));
  let notify: (() => void) | undefined;
  const stopA = feed.subscribe({ send: (f) => (frames.push(f), notify?.()), end: () => undefined });
  await got();
  t.match(frames[0], /^event: snapshot\ndata: \{.*"id":"e".*\}\n\n$/s);
  const stopB = feed.subscribe({ send: () => undefined, end: () => undefined });
  t.type(stopB, 'function');
  t.equal(feed.subscribe({ send: () => undefined, end: () => undefined }), false, 'a third stream is refused');
  if (stopA === false || stopB === false) throw new Error('subscribe refused');
  stopA();
  stopB();
  t.equal(feed.size, 0);
  t.ok(feed.accepting);
  let ended = 0;
  feed.subscribe({ send: () => undefined, end: () => ended++ });
  feed.close();
  t.equal(ended, 1, 'close ends every stream');
  t.notOk(feed.accepting, 'a closed feed takes no stream');

  // The server's own feed takes 16 streams.
  const aborts: AbortController[] = [];
  t.teardown(() => aborts.forEach((a) => a.abort()));
  for (let i = 0; i < 16; i++) {
    const a = new AbortController();
    aborts.push(a);
    const res = await fetch(`${app.base}/admin/stream`, { headers: { authorization: `Bearer ${ADMIN}` }, signal: a.signal });
    t.equal(res.status, 200, `stream ${i + 1}`);
  }
  const over = await fetch(`${app.base}/admin/stream`, { headers: { authorization: `Bearer ${ADMIN}` } });
  t.equal(over.status, 503, 'the 17th stream is refused while 16 are open');
  t.match(await over.json(), { c: 10 });
  // Aborting closes the sockets; the server forgets a stream when uWS reports it aborted.
  aborts.forEach((a) => a.abort());
  await until(async () => {
    const res = await fetch(`${app.base}/admin/stream`, { headers: { authorization: `Bearer ${ADMIN}` } });
    await res.body?.cancel();
    return res.status === 200;
  }, 'a stream slot freed by the aborted ones');

  // A stream open when the server stops is ended, not left hanging.
  const res = await fetch(`${app.base}/admin/stream`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const reader = res.body!.getReader();
  await reader.read();
  const closing = app.close();
  for (;;) {
    const r = await reader.read().catch(() => ({ done: true }));
    if (r.done) break;
  }
  t.pass('the stream ended on close');
  await closing;
});

t.test('script time: quantiles over the last reads only', async (t) => {
  const registry = new Registry();
  const h = new Histogram({
    name: 'seckill_redis_script_seconds',
    help: 'test',
    buckets: [0.001, 0.002, 0.005, 0.01],
    registers: [registry],
  });
  const w = new ScriptTimeWindow(registry, 2);
  t.same(await w.read(0), { p50: null, p99: null, calls: 0, windowS: 0 });
  for (let i = 0; i < 98; i++) h.observe(0.0015);
  h.observe(0.008);
  h.observe(0.008);
  const a = await w.read(500);
  t.equal(a.calls, 100);
  t.equal(a.windowS, 0.5);
  t.ok(a.p50 !== null && a.p50 > 0.001 && a.p50 <= 0.002, `p50 ${a.p50} in the (1, 2] ms bucket`);
  t.ok(a.p99 !== null && a.p99 > 0.005 && a.p99 <= 0.01, `p99 ${a.p99} in the (5, 10] ms bucket`);
  h.observe(0.5); // past the last bucket: reported as its bound
  const b = await w.read(1000);
  t.equal(b.calls, 101);
  const c = await w.read(1500);
  t.equal(c.calls, 1, 'a window of two reads: only the last observation is left');
  t.equal(c.p50, 0.01, 'above every bucket: the highest bound');
  const d = await w.read(2000);
  t.same(d, { p50: null, p99: null, calls: 0, windowS: 1 }, 'nothing in the window');
  h.observe(0.0015);
  w.reset();
  t.same(await w.read(9000), { p50: null, p99: null, calls: 0, windowS: 0 }, 'after a reset the window starts again');
});
