import { randomBytes } from 'node:crypto';
import { pack, unpack } from 'msgpackr';
import t from 'tap';
import { buy, openEvent, testApp, token } from './helpers/app';
import { redisSnapshot } from './helpers/snapshot';
import { nothingLeftBehind } from './helpers/left-behind';
import { until } from './helpers/wait';
import { WsClient } from './helpers/ws';

/** Nine kinds of bad frame; each gets an error answer and changes nothing. */
function hostile(i: number, event: string): { data: Buffer | string; binary: boolean } {
  switch (i % 9) {
    case 0: return { data: randomBytes(1 + (i % 200)), binary: true };
    case 1: return { data: 'buy h1 please', binary: false };
    case 2: return { data: pack({ id: 1, event }), binary: true };
    case 3: return { data: pack([-1, event]), binary: true };
    case 4: return { data: pack([7, event, 'forged.jwt.token']), binary: true };
    case 5: return { data: pack([8, 'no-such-event', token('u5')]), binary: true };
    case 6: return { data: pack([9, event, 'x', 'extra']), binary: true };
    case 7: return { data: pack([10, 42]), binary: true };
    default: return { data: Buffer.alloc(0), binary: true };
  }
}

t.test('hostile frames: error answers, close after 10, sale state unchanged', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'h1', 10);
  const before = await redisSnapshot(app.redis);
  // 1,000 anonymous connections × 10 bad frames = 10,000 hostile frames.
  const conns = 1000;
  const clients: WsClient[] = [];
  for (let i = 0; i < conns; i += 100) clients.push(...(await Promise.all(Array.from({ length: 100 }, () => WsClient.open(app.port)))));
  clients.forEach((c, k) => {
    for (let j = 0; j < 9; j++) {
      const { data, binary } = hostile(k + j, 'h1');
      c.socket.send(data, { binary });
    }
  });
  await until(() => clients.every((c) => c.raw.length === 9), 'nine error answers per connection', 30_000);
  const codes = new Set(clients.flatMap((c) => c.raw.map((b) => (unpack(b) as number[])[1])));
  t.same([...codes].sort(), [7, 8, 9], 'every bad frame answered 7, 8 or 9');
  for (const c of clients) c.socket.send(pack([11, 'nope']));
  const closes = await Promise.all(clients.map((c) => c.closed));
  t.ok(closes.every((c) => c.code === 1008), 'the tenth error closes with 1008');
  t.equal(await redisSnapshot(app.redis), before, 'Redis unchanged');

  const big = await WsClient.open(app.port);
  big.socket.send(pack([1, 'h1', 'x'.repeat(600)]));
  t.equal((await big.closed).code, 1009, 'a frame over 512 bytes closes with 1009');

  t.same(await buy(app.base, 'h1', 'after'), { status: 200, c: 0, o: 1 }, 'the server still sells over HTTP');
  const ok = await WsClient.open(app.port, { bearer: token('after-ws') });
  t.teardown(() => ok.close());
  t.same(await ok.buy('h1'), [1, 0, 2], 'and over WebSocket');
});

t.test('connections that leave while parked leave nothing behind', async (t) => {
  // One token a second: after the first, every buy stays parked.
  const app = await testApp(t, { queueRate: 1, queueBurst: 1, queueTimeoutMs: 10_000, wsInflight: 8 });
  await openEvent(t, app.base, 'gone', 1000);
  const event = app.catalog.get('gone')!;
  // Every connection opened first (slow on a loaded machine): the buys then all land within the second a token takes.
  const gw = await WsClient.open(app.port);
  const clients = await Promise.all(Array.from({ length: 300 }, (_, i) => WsClient.open(app.port, { bearer: token(`p${i % 290}`) })));
  t.same(await buy(app.base, 'gone', 'early'), { status: 200, c: 0, o: 1 }, 'takes the only token');
  const answers = Array.from({ length: 10 }, (_, i) => gw.buy('gone', token(`gw${i}`)));
  const busy = await Promise.all(answers.slice(8));
  t.same(busy.map((f) => f[1]), [5, 5], `past SECKILL_WS_INFLIGHT (8) undecided buys: 5`);
  // p0..p9 have two connections: the second one's buy follows the first.
  for (const c of clients) void c.buy('gone');
  await until(() => app.queue.live === 308, '308 buys parked');
  t.equal(app.queue.followers, 10, 'ten follow their first');
  gw.socket.terminate();
  for (const c of clients) c.socket.terminate();
  await nothingLeftBehind(t, app, event, 2, 'a token a second: at most one sent before the clients left');
});

t.test('10,000 connections that leave while parked, in waves of 2,500: nothing left behind', async (t) => {
  const app = await testApp(t, { queueRate: 1, queueBurst: 1, queueTimeoutMs: 30_000 });
  await openEvent(t, app.base, 'waves', 100_000);
  const event = app.catalog.get('waves')!;
  t.same(await buy(app.base, 'waves', 'first'), { status: 200, c: 0, o: 1 }, 'takes the only token');
  const started = Date.now();
  for (let wave = 0; wave < 4; wave++) {
    const clients: WsClient[] = [];
    for (let i = 0; i < 2500; i += 250) {
      clients.push(...(await Promise.all(Array.from({ length: 250 }, (_, j) => WsClient.open(app.port, { bearer: token(`w${wave}-${i + j}`) })))));
    }
    for (const c of clients) void c.buy('waves');
    await until(() => app.queue.live === 2500, `wave ${wave}: 2,500 buys parked`, 30_000);
    for (const c of clients) c.socket.terminate();
    await until(() => app.queue.live === 0, `wave ${wave}: every parked buy let go`, 30_000);
  }
  t.pass('10,000 parked buys, every one let go when its connection left');
  // The bucket grants one token a second: a buy still connected then was decided, as it should be.
  const seconds = Math.ceil((Date.now() - started) / 1000);
  await nothingLeftBehind(t, app, event, seconds + 2, `${seconds} s at one token a second`);
});

t.test('bytes per answer frame, by outcome', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'b1', 1);
  const c = await WsClient.open(app.port, { bearer: token('b-user') });
  t.teardown(() => c.close());
  const other = await WsClient.open(app.port, { bearer: token('b-other') });
  t.teardown(() => other.close());
  const sizes: Record<string, number> = {};
  const wire = async (name: string, f: Promise<unknown>, client = c): Promise<void> => {
    const n = client.raw.length;
    await f;
    const answer = client.raw.slice(n).find((b) => typeof (unpack(b) as unknown[])[1] === 'number')!;
    const payload = answer.length;
    // A server frame is unmasked: 2 header bytes below 126 bytes of payload.
    sizes[name] = payload + 2;
  };
  await wire('0 won (order 1)', c.buy('b1'));
  await wire('2 already bought', c.buy('b1'));
  await wire('1 sold out', other.buy('b1'), other);
  await wire('7 unknown event', c.buy('nope'));
  await wire('8 bad token', c.buy('b1', 'forged'));
  const push = other.raw.find((b) => typeof (unpack(b) as unknown[])[1] === 'string')!;
  sizes['push [0, "b1", 1]'] = push.length + 2;
  t.comment(JSON.stringify(sizes));
  for (const [name, n] of Object.entries(sizes)) t.ok(n <= 10, `${name}: ${n} wire bytes (HTTP: about 100-156)`);
});
