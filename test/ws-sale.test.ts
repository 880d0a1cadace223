import t from 'tap';
import { buy, openEvent, testApp, token } from './helpers/app';
import { WsClient, type Frame } from './helpers/ws';
import { until } from './helpers/wait';

t.test('a sale over WebSocket: exact winners, repeat clicks, followers, pushes', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'w1', 50);
  const clients = await Promise.all(Array.from({ length: 100 }, (_, i) => WsClient.open(app.port, { bearer: token(`u${i}`) })));
  t.teardown(() => Promise.all(clients.map((c) => c.close())));
  // Every user clicks three times at once: the repeats follow the first click.
  const answers = await Promise.all(clients.map((c) => Promise.all([c.buy('w1'), c.buy('w1'), c.buy('w1')])));
  const winners = answers.filter(([a]) => a[1] === 0);
  t.equal(winners.length, 50, 'exactly the stock won');
  const orders = new Set(winners.map(([a]) => (a as [number, number, number])[2]));
  t.equal(orders.size, 50, 'every winner has its own order number');
  for (const [first, ...repeats] of answers) {
    for (const r of repeats) {
      if (first[1] === 0) t.same(r.slice(1), [2, first[2]], 'a repeat of a win: already bought, same order');
      else t.ok(r[1] === 1 || r[1] === first[1], 'a repeat of a loss: sold out');
    }
  }
  const event = app.catalog.get('w1')!;
  t.equal(await app.redis.hlen(event.keys.buyers), 50, 'Redis has 50 buyers');
  t.equal(Number(await app.redis.get(event.keys.stock)), 0, 'nothing left');
  // Every connection bought from w1: each hears "sold out" once.
  await Promise.all(clients.map((c) => c.pushCount(1)));
  t.ok(clients.every((c) => c.pushes.length === 1 && c.pushes[0]![0] === 'w1' && c.pushes[0]![1] === 1), 'every buyer got the push [0, "w1", 1]');
  // Later: a buy answers from memory, and a winner still gets its order.
  const w = answers.findIndex(([a]) => a[1] === 0);
  t.same((await clients[w]!.buy('w1')).slice(1), [2, (answers[w]![0] as Frame)[2]], 'a winner asking again: 2 + order');
});

t.test('a mixed HTTP + WebSocket sale sells exactly the stock', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'mix', 40);
  const clients = await Promise.all(Array.from({ length: 60 }, (_, i) => WsClient.open(app.port, { bearer: token(`ws${i}`) })));
  t.teardown(() => Promise.all(clients.map((c) => c.close())));
  const [overWs, overHttp] = await Promise.all([
    Promise.all(clients.map((c) => c.buy('mix'))),
    Promise.all(Array.from({ length: 60 }, (_, i) => buy(app.base, 'mix', `http${i}`))),
  ]);
  const won = overWs.filter((f) => f[1] === 0).length + overHttp.filter((a) => a.c === 0).length;
  t.equal(won, 40, `exactly 40 won (${overWs.filter((f) => f[1] === 0).length} over WebSocket)`);
  t.equal(await app.redis.hlen(app.catalog.get('mix')!.keys.buyers), 40, 'Redis agrees');
});

t.test('many users on one connection (a gateway), anonymous', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'gw', 30);
  const gw = await WsClient.open(app.port);
  t.teardown(() => gw.close());
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => gw.buy('gw', token(`g${i}`))));
  t.equal(answers.filter((f) => f[1] === 0).length, 30, '30 of 50 users won over one connection');
  t.same((await gw.buy('gw')).slice(1), [8], 'a buy without a token on an anonymous connection: 8');
  t.same((await gw.buy('gw', 'not.a.jwt')).slice(1), [8], 'a forged per-message token: 8');
  const again = await gw.buy('gw', token('g0'));
  t.equal(again[1], answers[0]![1] === 0 ? 2 : 1, 'a user asking again on the same connection');
});

t.test('upgrade: bad token 401, query token accepted, subscribe-only pushes', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'sub', 1);
  t.match(await WsClient.open(app.port, { bearer: 'nope' }).catch((e: unknown) => e), { status: 401 }, 'a bad bearer: 401, no upgrade');
  t.match(await WsClient.open(app.port, { query: '?access_token=nope' }).catch((e: unknown) => e), { status: 401 }, 'a bad access_token: 401');
  const viaQuery = await WsClient.open(app.port, { query: `?access_token=${token('q1')}` });
  t.teardown(() => viaQuery.close());
  const watcher = await WsClient.open(app.port);
  t.teardown(() => watcher.close());
  watcher.subscribe('sub');
  watcher.subscribe('nope');
  t.same(await watcher.answerTo(0), [0, 7], 'subscribing to an unknown event: [0, 7]');
  t.same((await viaQuery.buy('sub')).slice(1), [0, 1], 'the query token names the buyer');
  await watcher.pushCount(1);
  t.same(watcher.pushes, [['sub', 1]], 'a subscriber hears "sold out" without buying');
  const late = await WsClient.open(app.port);
  t.teardown(() => late.close());
  late.subscribe('sub');
  await late.pushCount(1);
  t.same(late.pushes, [['sub', 1]], 'a late subscriber is told at once');
});

t.test('an event that ends is pushed as 4', async (t) => {
  const app = await testApp(t);
  const res = await fetch(`${app.base}/admin/events/short`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${app.config.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ stock: 5, start: Date.now() - 1000, end: Date.now() + 600 }),
  });
  t.ok(res.ok, 'event put');
  const c = await WsClient.open(app.port);
  t.teardown(() => c.close());
  c.subscribe('short');
  await c.pushCount(1);
  t.same(c.pushes, [['short', 4]], 'ended pushed when the window closes');
  await until(() => app.catalog.get('short') !== undefined, 'event known');
});
