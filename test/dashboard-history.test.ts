import { Redis } from 'ioredis';
import t from 'tap';
import { firstSoldOut, HISTORY_LIMITS, HistorySampler, readHistory, sampleStep, sampleWindow } from '../src/dashboard/history';
import { AnswerCounts, Channel, Stage } from '../src/events/answer-counts';
import { SaleEvent } from '../src/events/sale-event';
import { FleetCounts } from '../src/metrics/fleet-counts';
import { Outcome, OUTCOMES } from '../src/outcome';
import { buy as buyScript, defineScripts, putEvent as putScript } from '../src/redis/scripts';
import { ADMIN, buy, count, openEvent, testApp } from './helpers/app';
import { testRedis } from './helpers/services';
import { until } from './helpers/wait';

/** One process of a server as the history sees it: its own copy of the event, its counts published under its id. */
function processOf(redis: Redis, id: string, def: ConstructorParameters<typeof SaleEvent>[1]): { event: SaleEvent; fleet: FleetCounts; sampler: HistorySampler } {
  const event = new SaleEvent('h', def, def.stock);
  const fleet = new FleetCounts(redis, id, { events: () => [event], refused: new AnswerCounts(), queue: { size: 0, live: 0, capacity: 10 } });
  return { event, fleet, sampler: new HistorySampler(redis, () => [event]) };
}

t.test('two processes sample the same seconds: one entry a second, the sum of what every process published', async (t) => {
  const local = await testRedis(t);
  const redis = new Redis({ path: local.socket });
  defineScripts(redis);
  t.teardown(() => redis.quit());
  // On a second, so the samples' steps are start + n seconds.
  const start = Math.floor(Date.now() / 1000) * 1000 - 1000;
  const def = { stock: 5, start, end: start + 600_000, name: '', payWithin: 0 };
  const a = processOf(redis, 'host:1/w0', def);
  const b = processOf(redis, 'host:1/w1', def);
  await putScript(redis, a.event.keys, def);
  t.equal(sampleStep(a.event), 1000, 'a ten-minute sale: a sample a second');

  // Second 1: both sample it; Redis keeps the first and refuses the copy.
  const s1 = start + 1250;
  await a.sampler.sample(s1);
  await b.sampler.sample(s1);
  t.equal(await redis.xlen(a.event.keys.history), 1, 'one entry for the second, whoever sampled it');
  t.ok((await redis.pttl(a.event.keys.history)) > HISTORY_LIMITS.keepMs - 60_000, 'kept a week after the last sample');

  // Two wins decided by process a, three sold-out answers by process b, each published.
  const r = await buyScript(redis, a.event.keys, ['u1', 'u2']);
  t.same([...r.codes], [0, 0]);
  for (let i = 0; i < 2; i++) a.event.answers.count(Channel.Http, Stage.Redis, Outcome.Won);
  for (let i = 0; i < 3; i++) b.event.answers.count(Channel.Ws, Stage.Prefilter, Outcome.SoldOut);
  // A code past a gap (13 and 14 are reserved): stored and read back in OUTCOMES' order, not by code.
  b.event.answers.count(Channel.Http, Stage.Prefilter, Outcome.Paused);
  await Promise.all([a.fleet.publish(false), b.fleet.publish(false)]);
  await b.sampler.sample(s1 + 1000);
  await a.sampler.sample(s1 + 1000);
  // Counted by a, not yet published: every process reads the same sum, so no sample is ahead of another.
  a.event.answers.count(Channel.Http, Stage.Redis, Outcome.Won);
  await a.sampler.sample(s1 + 2000);

  const samples = await readHistory(redis, a.event);
  t.same(
    samples.map((s) => [s.t, s.remaining, s.counts[Outcome.Won], s.counts[Outcome.SoldOut]]),
    [
      [start + 1000, 5, 0, 0],
      [start + 2000, 3, 2, 3],
      [start + 3000, 3, 2, 3],
    ],
    'units left and the answers of both processes, per second',
  );
  t.equal(samples[0]?.counts.length, OUTCOMES.length, 'every outcome');
  const paused = OUTCOMES.findIndex((o) => o.code === Outcome.Paused);
  t.same(samples.map((s) => s.counts[paused]), [0, 1, 1], 'an answer of code 16 read back as that outcome');
  t.same(a.sampler.latestOf(a.event), samples[2], 'the newest sample, for the live page');
  t.equal(firstSoldOut(samples, def), null, 'not sold out');
  await buyScript(redis, a.event.keys, ['u3', 'u4', 'u5']);
  await b.sampler.sample(s1 + 3000);
  t.equal(firstSoldOut(await readHistory(redis, a.event), def), start + 4000, 'the first second that saw 0 left');

  // Outside the window (a minute before the start to a minute after the end): nothing is sampled.
  const { from, to } = sampleWindow(a.event);
  t.same([from, to], [start - 60_000, start + 660_000]);
  const before = await redis.xlen(a.event.keys.history);
  await a.sampler.sample(to + 1000);
  await a.sampler.sample(from - 1000);
  t.equal(await redis.xlen(a.event.keys.history), before, 'no sample outside the window');
});

t.test('bounded: a long sale is sampled every few seconds, the stream is capped, an older sale is left out', async (t) => {
  const local = await testRedis(t);
  const redis = new Redis({ path: local.socket });
  defineScripts(redis);
  t.teardown(() => redis.quit());
  const hour = 3_600_000;
  t.equal(sampleStep({ start: 0, end: hour }), 1000, 'an hour: every second');
  t.equal(sampleStep({ start: 0, end: 10 * hour }), 6000, 'ten hours: every 6 s');
  t.equal(sampleStep({ start: 0, end: 30 * 24 * hour }), 361_000, 'thirty days: every 6 min 1 s');
  for (const hours of [1, 2, 10, 24 * 30]) {
    const span = hours * hour + HISTORY_LIMITS.leadMs + HISTORY_LIMITS.tailMs;
    t.ok(span / sampleStep({ start: 0, end: hours * hour }) <= HISTORY_LIMITS.maxSamples, `${hours} h: at most ${HISTORY_LIMITS.maxSamples} samples`);
  }

  const start = Date.now() - 1000;
  const def = { stock: 5, start, end: start + 10 * hour, name: '', payWithin: 0 };
  const p = processOf(redis, 'host:2/main', def);
  await putScript(redis, p.event.keys, def);
  // An older sale under the same id (the demo started anew), sampled to the cap and beyond.
  const old = redis.pipeline();
  for (let i = 1; i <= 8000; i++) old.xadd(p.event.keys.history, 'MAXLEN', '~', HISTORY_LIMITS.maxSamples, `${i}-0`, 'v', '0,1,2');
  await old.exec();
  for (let s = 0; s < 30; s++) await p.sampler.sample(start + 250 + s * 1000);
  const length = await redis.xlen(p.event.keys.history);
  t.ok(length >= HISTORY_LIMITS.maxSamples && length <= HISTORY_LIMITS.maxSamples + 200, `capped near ${HISTORY_LIMITS.maxSamples} (${length})`);
  const samples = await readHistory(redis, p.event);
  t.ok(samples.length >= 5 && samples.length <= 6, `one sample per 6 s over 30 s (${samples.length})`);
  t.ok(samples.every((s) => s.t % 6000 === 0), 'on the step');
  t.ok(samples.every((s) => s.t >= start - HISTORY_LIMITS.leadMs), 'the older sale is left out');
});

t.test('GET /admin/events/{e}/history: the same history from any server on the Redis', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'flash', 3);
  const answers = await Promise.all(['a', 'b', 'c', 'd'].map((u) => buy(app.base, 'flash', u)));
  t.equal(count(answers, (x) => x.c === 0), 3);
  const auth = { authorization: `Bearer ${ADMIN}` };
  type History = { event: string; step: number; from: number; to: number; outcomes: string[]; soldOutAt: number | null; samples: number[][] };
  const read = async (base: string): Promise<History> => (await (await fetch(`${base}/admin/events/flash/history`, { headers: auth })).json()) as History;
  // The server samples once a second, watched or not; the counts arrive with each process's publication.
  let h = await read(app.base);
  await until(async () => {
    h = await read(app.base);
    const last = h.samples[h.samples.length - 1];
    return last !== undefined && last[1] === 0 && last[2 + Outcome.Won] === 3 && last[2 + Outcome.SoldOut] === 1;
  }, 'a sample of the sold-out sale with its answers');
  const event = app.catalog.get('flash');
  t.match(h, { event: 'flash', step: 1000, from: (event?.start ?? 0) - 60_000, to: (event?.end ?? 0) + 60_000 });
  t.equal(h.outcomes[Outcome.Won], 'won');
  t.ok(h.soldOutAt !== null && h.soldOutAt >= (event?.start ?? 0) - 1000 && h.soldOutAt <= Date.now(), 'when it sold out');
  t.ok(h.samples.every((s, i) => i === 0 || (s[0] ?? 0) > (h.samples[i - 1]?.[0] ?? 0)), 'oldest first, one per second');

  // Another server (or worker) on the same Redis reads the same samples.
  const other = await testApp(t, { redisUrl: app.redisSocket });
  const h2 = await read(other.base);
  t.same(h2.samples.slice(0, h.samples.length), h.samples, 'the same history');

  const none = await fetch(`${app.base}/admin/events/flash/history`);
  t.equal(none.status, 401);
  t.same(await none.json(), { c: 8, error: 'admin token required' });
  const unknown = await fetch(`${app.base}/admin/events/nosuch/history`, { headers: auth });
  t.equal(unknown.status, 404);
  t.same(await unknown.json(), { c: 7, error: 'no such event' });
  const post = await fetch(`${app.base}/admin/events/flash/history`, { method: 'POST', headers: auth });
  t.equal(post.status, 405);
  await post.arrayBuffer();
});

t.test('samples are kept by outcome code: a code added later moves no column, and the first format still reads right', async (t) => {
  const local = await testRedis(t);
  const redis = new Redis({ path: local.socket });
  defineScripts(redis);
  t.teardown(() => redis.quit());
  const start = Math.floor(Date.now() / 1000) * 1000 - 5000;
  const event = new SaleEvent('codes', { stock: 5, start, end: start + 600_000, name: '', payWithin: 0 }, 5);
  const at = (code: Outcome, s: { counts: readonly number[] }): number | undefined => s.counts[OUTCOMES.findIndex((o) => o.code === code)];
  // The first format ('v'): the answers in the order of the outcome list of then (codes 0-12, then 16 paused).
  await redis.xadd(event.keys.history, `${start + 1000}-0`, 'v', `4,${[1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7].join(',')}`);
  // By code ('c'): units left, then one count per code from 0; a code this server lacks (past its list) is ignored.
  const byCode = new Array<number>(40).fill(0);
  byCode[0] = 3;
  byCode[Outcome.Paused] = 9;
  byCode[Outcome.Unavailable] = 5;
  await redis.xadd(event.keys.history, `${start + 2000}-0`, 'c', `2,${byCode.join(',')}`);
  const [first, second] = await readHistory(redis, event);
  t.ok(first !== undefined && second !== undefined, 'both read');
  if (first === undefined || second === undefined) return;
  t.same([first.remaining, at(Outcome.Won, first), at(Outcome.SoldOut, first), at(Outcome.Paused, first)], [4, 1, 2, 7], "the first format's last column is paused (16), not the code after 12");
  t.same([second.remaining, at(Outcome.Won, second), at(Outcome.Unavailable, second), at(Outcome.Paused, second)], [2, 3, 5, 9], 'by code: each count under its code');
  for (const o of OUTCOMES.filter((x) => ![Outcome.Won, Outcome.Unavailable, Outcome.Paused].includes(x.code))) {
    t.equal(at(o.code, second), 0, `${o.name}: 0`);
  }

  // What the sampler writes reads back the same.
  const sampler = new HistorySampler(redis, () => [event]);
  t.teardown(() => sampler.close());
  const fleet = new FleetCounts(redis, 'host:9/main', { events: () => [event], refused: new AnswerCounts(), queue: { size: 0, live: 0, capacity: 10 } });
  event.answers.count(Channel.Http, Stage.Prefilter, Outcome.Paused);
  await fleet.publish(false);
  await putScript(redis, event.keys, { stock: 5, start, end: start + 600_000, name: '', payWithin: 0 });
  await sampler.sample(start + 3250);
  const third = (await readHistory(redis, event))[2];
  t.equal(third === undefined ? undefined : at(Outcome.Paused, third), 1, 'a paused answer sampled, read back as paused');
});
