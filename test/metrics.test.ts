import t from 'tap';
import { ADMIN, buy, count, openEvent, putEvent, testApp, token } from './helpers/app';
import { scrape } from './helpers/metrics';
import { WsClient } from './helpers/ws';
import { testMysql } from './helpers/services';
import { until } from './helpers/wait';

const METRICS = 'metrics-reader-token';

t.test('/metrics needs the metrics or the admin token', async (t) => {
  const app = await testApp(t, { metricsToken: METRICS });
  const status = async (authorization?: string): Promise<number> =>
    (await fetch(`${app.base}/metrics`, { headers: authorization === undefined ? {} : { authorization } })).status;
  t.equal(await status(), 401, 'no token');
  t.equal(await status(`Bearer ${token('someone')}`), 401, 'a buyer token is not enough');
  t.equal(await status('Bearer wrong'), 401, 'a wrong token');
  t.equal(await status(`Bearer ${METRICS}`), 200, 'the metrics token');
  t.equal(await status(`Bearer ${ADMIN}`), 200, 'the admin token');
  const res = await fetch(`${app.base}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } });
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  t.match(await res.text(), /^seckill_process_resident_memory_bytes \d+/m, 'process metrics');
  t.equal((await fetch(`${app.base}/metrics`, { method: 'POST' })).status, 405);
  // With neither token configured, nobody reads them.
  const closed = await testApp(t, { adminToken: '', metricsToken: '' });
  t.equal((await fetch(`${closed.base}/metrics`, { headers: { authorization: 'Bearer ' } })).status, 401);
});

t.test('decisions by stage and outcome, queue, batches, stock and stream', async (t) => {
  const app = await testApp(t, { metricsToken: METRICS });
  await openEvent(t, app.base, 'm', 5);
  const later = Date.now() + 3_600_000;
  t.equal((await putEvent(app.base, 'soon', { stock: 1, start: later, end: later + 1000 })).status, 201);

  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => buy(app.base, 'm', `u${i}`)));
  t.equal(count(answers, (a) => a.c === 0), 5);
  const soldOut = count(answers, (a) => a.c === 1);
  t.equal(soldOut, 3);
  t.equal((await buy(app.base, 'm', 'u9')).c, 1, 'sold out, decided by the prefilter');
  const winner = answers.findIndex((a) => a.c === 0);
  t.equal((await buy(app.base, 'm', `u${winner}`)).c, 2, 'already bought, decided by the prefilter');
  t.equal((await buy(app.base, 'soon', 'u1')).c, 3);
  t.equal((await buy(app.base, 'nope', 'u1')).c, 7);
  t.equal((await buy(app.base, 'm', undefined)).c, 8);
  t.equal((await fetch(`${app.base}/events/m/buy`)).status, 405);

  const m = await scrape(app.base, METRICS);
  const d = (stage: string, outcome: string): number => m('seckill_decisions_total', { channel: 'http', stage, outcome }) ?? 0;
  t.equal(m('seckill_decisions_total', { channel: 'ws' }), undefined, 'no WebSocket buys, no ws samples');
  t.equal(d('redis', 'won'), 5, 'wins come from Redis');
  t.equal(d('redis', 'sold_out') + d('prefilter', 'sold_out'), 4, 'every sold-out answer is counted once');
  t.ok(d('prefilter', 'sold_out') >= 1);
  t.equal(d('prefilter', 'already_bought'), 1);
  t.equal(d('prefilter', 'not_started'), 1);
  t.equal(d('http', 'unknown_event'), 1);
  t.equal(d('http', 'unauthorized'), 1);
  t.equal(d('http', 'bad_request'), 1);
  t.equal(m('seckill_stock_remaining', { event: 'm' }), 0);
  t.equal(m('seckill_stock_remaining', { event: 'soon' }), 1);
  t.equal(m('seckill_orders_unpersisted', { event: 'm' }), 5, 'no MySQL here: all five wait in the stream');
  t.equal(m('seckill_parked_requests'), 0);
  t.equal(m('seckill_queue_waiting'), 0);
  t.equal(m('seckill_queue_capacity'), app.config.queueCapacity);
  t.equal(m('seckill_batch_size_sum'), 5, 'five requests reached Redis: once five were reserved, the prefilter answered');
  const calls = m('seckill_batch_size_count') ?? 0;
  t.ok(calls >= 1 && calls <= 5, 'in one to five script calls');
  t.equal(m('seckill_redis_script_seconds_count'), calls, 'one latency sample per call');
  t.equal(m('seckill_orders_persisted_total'), undefined, 'no persister, no persister metrics');
});

t.test('answers over WebSocket are counted under channel="ws", HTTP ones under "http"', async (t) => {
  const app = await testApp(t, { metricsToken: METRICS });
  await openEvent(t, app.base, 'ch', 2);
  t.equal((await buy(app.base, 'ch', 'h1')).c, 0, 'an HTTP win');
  const w1 = await WsClient.open(app.port, { bearer: token('w1') });
  const w2 = await WsClient.open(app.port, { bearer: token('w2') });
  t.teardown(() => Promise.all([w1.close(), w2.close()]));
  t.equal((await w1.buy('ch'))[1], 0, 'a WebSocket win: the last unit');
  t.equal((await w1.buy('ch'))[1], 2, 'the winner again: already bought, from memory');
  t.equal((await w2.buy('ch'))[1], 1, 'sold out, from memory');
  t.equal((await w2.buy('nope'))[1], 7, 'an unknown event over WebSocket');
  t.equal((await buy(app.base, 'ch', 'h2')).c, 1, 'sold out over HTTP');

  const m = await scrape(app.base, METRICS);
  const d = (channel: string, stage: string, outcome: string): number | undefined => m('seckill_decisions_total', { channel, stage, outcome });
  t.equal(d('ws', 'redis', 'won'), 1);
  t.equal(d('ws', 'prefilter', 'already_bought'), 1);
  t.equal(d('ws', 'prefilter', 'sold_out'), 1);
  t.equal(d('ws', 'http', 'unknown_event'), 1, 'refused before an event was found: still counted by channel');
  t.equal(m('seckill_decisions_total', { channel: 'ws' }), 4, 'four WebSocket answers, no more');
  t.equal(d('http', 'redis', 'won'), 1);
  t.equal(d('http', 'prefilter', 'sold_out'), 1);
  t.equal(m('seckill_decisions_total', { channel: 'http' }), 2, 'two HTTP answers, no more');

  const res = await fetch(`${app.base}/admin/events/ch`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const st = (await res.json()) as { outcomes: Record<string, number>; outcomesByChannel: Record<string, Record<string, number>> };
  t.equal(st.outcomes.won, 2, 'admin stats: wins on both channels');
  t.same([st.outcomesByChannel.http?.won, st.outcomesByChannel.ws?.won], [1, 1], 'and by channel');
  t.same([st.outcomesByChannel.http?.sold_out, st.outcomesByChannel.ws?.sold_out, st.outcomesByChannel.ws?.already_bought], [1, 1, 1]);
});

t.test('a parked request shows in the queue gauges', async (t) => {
  const app = await testApp(t, { metricsToken: METRICS, queueRate: 1, queueBurst: 1 });
  await openEvent(t, app.base, 'slow', 10);
  t.equal((await buy(app.base, 'slow', 'first')).c, 0, 'the one token');
  const waiting = buy(app.base, 'slow', 'second');
  await until(() => app.queue.live === 1, 'second request parked');
  const m = await scrape(app.base, ADMIN);
  t.equal(m('seckill_parked_requests'), 1);
  t.equal(m('seckill_queue_waiting'), 1);
  t.equal((await waiting).c, 0, 'answered when the next token comes');
});

t.test('persister metrics: orders persisted and lag back to 0', async (t) => {
  const db = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: db.url, metricsToken: METRICS });
  await openEvent(t, app.base, 'p', 20);
  await Promise.all(Array.from({ length: 20 }, (_, i) => buy(app.base, 'p', `u${i}`)));
  await until(async () => (await scrape(app.base, METRICS))('seckill_orders_persisted_total') === 20, 'all 20 persisted');
  const m = await scrape(app.base, METRICS);
  t.equal(m('seckill_orders_unpersisted', { event: 'p' }), 0);
  t.equal(m('seckill_persister_failures'), 0);
});
