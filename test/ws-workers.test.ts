import t from 'tap';
import { ADMIN, buy, count, putEvent, SECRET, token } from './helpers/app';
import { scrape } from './helpers/metrics';
import { spawnServer } from './helpers/process';
import { tempDir } from './helpers/services';
import { until } from './helpers/wait';
import { WsClient } from './helpers/ws';

t.test('SECKILL_WORKERS=2: a WebSocket + HTTP sale, and "sold out" pushed to 5,000 subscribers', async (t) => {
  const s = await spawnServer(t, { SECKILL_DATA_DIR: tempDir(t), SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, MYSQL_URL: 'none', SECKILL_WORKERS: '2' });
  t.equal((await putEvent(s.base, 'wk', { stock: 60 })).status, 201);
  await until(async () => (await buy(s.base, 'wk', 'probe')).c === 0, 'both workers know the event');

  // Subscribers land on both workers (SO_REUSEPORT): each must hear it from its own worker.
  const watchers: WsClient[] = [];
  for (let i = 0; i < 5000; i += 250) watchers.push(...(await Promise.all(Array.from({ length: 250 }, () => WsClient.open(s.port)))));
  t.teardown(() => Promise.all(watchers.map((w) => w.close())));
  for (const w of watchers) w.subscribe('wk');

  const buyers = await Promise.all(Array.from({ length: 50 }, (_, i) => WsClient.open(s.port, { bearer: token(`b${i}`) })));
  t.teardown(() => Promise.all(buyers.map((b) => b.close())));
  const gateway = await WsClient.open(s.port);
  t.teardown(() => gateway.close());
  const [overWs, overGateway, overHttp] = await Promise.all([
    Promise.all(buyers.map((b) => b.buy('wk'))),
    Promise.all(Array.from({ length: 50 }, (_, i) => gateway.buy('wk', token(`g${i}`)))),
    Promise.all(Array.from({ length: 50 }, (_, i) => buy(s.base, 'wk', `h${i}`))),
  ]);
  const won = count(overWs, (f) => f[1] === 0) + count(overGateway, (f) => f[1] === 0) + count(overHttp, (a) => a.c === 0);
  t.equal(won, 59, 'exactly the stock won (one went to the probe), across both transports and both workers');
  // Each worker publishes its counts, with their channel, about once a second.
  let m = await scrape(s.base, ADMIN);
  await until(async () => (m = await scrape(s.base, ADMIN))('seckill_decisions_total', { stage: 'redis', outcome: 'won' }) === 60, "both workers' wins counted");
  const wonOver = (channel: string): number | undefined => m('seckill_decisions_total', { channel, stage: 'redis', outcome: 'won' });
  t.equal(wonOver('ws'), count(overWs, (f) => f[1] === 0) + count(overGateway, (f) => f[1] === 0), '/metrics: WebSocket wins under channel="ws"');
  t.equal(wonOver('http'), count(overHttp, (a) => a.c === 0) + 1, 'HTTP wins (and the probe) under channel="http"');

  await Promise.all(watchers.map((w) => w.pushCount(1)));
  t.ok(watchers.every((w) => w.pushes.length === 1 && w.pushes[0]![1] === 1), 'all 5,000 subscribers got [0, "wk", 1] once');
  await Promise.all(buyers.map((b) => b.pushCount(1)));
  t.pass('every WebSocket buyer got the push too');
});
