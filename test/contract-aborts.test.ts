import { execFile } from 'node:child_process';
import type net from 'node:net';
import t, { type Test } from 'tap';
import { eventKeys } from '../src/redis/keys';
import { ADMIN, putEvent, token } from './helpers/app';
import { EASY_POW } from './helpers/pow';
import { ask, bearer, chunked, json, known, rawRequest, serve, WORKER_COUNTS, type Served } from './helpers/contract';
import { buyRequest, connect } from './helpers/raw';
import { until } from './helpers/wait';
import { WsClient } from './helpers/ws';

const PAYER = 'aborts-payment-token';
/** Hang-ups on the cheap routes, per server, in waves of WAVE at once. */
const HANGUPS = 3_000;
const WAVE = 250;

/** A request and how much of it is sent before the client hangs up. */
interface Hangup {
  readonly route: string;
  readonly bytes: Buffer;
  /** Send only this many bytes (a request cut in its head or its body). */
  readonly cut?: number;
}

function hangups(): Hangup[] {
  const def = JSON.stringify({ stock: 1_000_000, start: 'now', end: 4_000_000_000_000 });
  const putHead = rawRequest('PUT', '/admin/events/ab', { ...bearer(ADMIN), 'content-length': String(def.length) });
  const upgrade = rawRequest('GET', '/ws', { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' });
  const chunkedPay = rawRequest('POST', '/events/pay/orders/1/paid', { ...bearer(PAYER), 'transfer-encoding': 'chunked' }, chunked('{"ref":"abc"}'));
  const chunkedBuy = rawRequest('POST', '/events/ab/buy', { ...bearer(token('chunky')), 'transfer-encoding': 'chunked' }, chunked('x'.repeat(40)));
  // A pause or resume with a chunked body nobody reads (the route takes none).
  const chunkedPause = rawRequest('POST', '/admin/events/ab/pause', { ...bearer(ADMIN), 'transfer-encoding': 'chunked' }, chunked('{"why":"x"}'));
  const chunkedResume = rawRequest('POST', '/admin/events/ab/resume', { ...bearer(ADMIN), 'transfer-encoding': 'chunked' }, chunked('{"why":"x"}'));
  const chunkedLot = rawRequest('POST', '/events/lt/buy?q=2&sku=red', { ...bearer(token('chunky-lot')), 'transfer-encoding': 'chunked' }, chunked('x'.repeat(40)));
  return [
    // Issues 23 and 24: a buy in lots (whole and cut), the lots order list (read from Redis and MySQL), a challenge
    // (a key derivation the client may leave during), a buy without its proof (15), a draw not drawn (404/409).
    { route: 'buy in lots', bytes: rawRequest('POST', '/events/lt/buy?q=2&sku=red', { ...bearer(token('lot-clicker')), 'content-length': '0' }) },
    { route: 'buy in lots mid-body', bytes: chunkedLot, cut: chunkedLot.length - 8 },
    { route: 'lots order list', bytes: rawRequest('GET', '/events/lt/order', bearer(token('lot-buyer'))) },
    { route: 'challenge', bytes: rawRequest('GET', '/events/pw/challenge', bearer(token('solver'))) },
    { route: 'buy without proof', bytes: rawRequest('POST', '/events/pw/buy', { ...bearer(token('prover')), 'content-length': '0' }) },
    { route: 'draw list', bytes: rawRequest('GET', '/events/ab/draw') },
    { route: 'GET /healthz', bytes: rawRequest('GET', '/healthz') },
    { route: 'HEAD /healthz', bytes: rawRequest('HEAD', '/healthz') },
    { route: 'GET /readyz', bytes: rawRequest('GET', '/readyz') },
    { route: 'HEAD /readyz', bytes: rawRequest('HEAD', '/readyz') },
    { route: 'GET /events/ab', bytes: rawRequest('GET', '/events/ab') },
    { route: 'order query (winner)', bytes: rawRequest('GET', '/events/pay/order', bearer(token('payer0'))) },
    { route: 'order query (none)', bytes: rawRequest('GET', '/events/ab/order', bearer(token('nobody'))) },
    { route: 'admin GET', bytes: rawRequest('GET', '/admin/events/ab', bearer(ADMIN)) },
    { route: 'admin PUT', bytes: Buffer.concat([putHead, Buffer.from(def)]) },
    { route: 'admin PUT mid-body', bytes: Buffer.concat([putHead, Buffer.from(def)]), cut: putHead.length + 10 },
    { route: 'admin events list', bytes: rawRequest('GET', '/admin/events', bearer(ADMIN)) },
    { route: 'admin history', bytes: rawRequest('GET', '/admin/events/ab/history', bearer(ADMIN)) },
    { route: 'pause', bytes: chunkedPause },
    { route: 'resume mid-body', bytes: chunkedResume, cut: chunkedResume.length - 8 },
    { route: 'resume', bytes: chunkedResume },
    { route: 'GET / (redirect)', bytes: rawRequest('GET', '/') },
    { route: 'HEAD dashboard script', bytes: rawRequest('HEAD', '/admin/dashboard.js') },
    { route: 'GET /metrics', bytes: rawRequest('GET', '/metrics', bearer(ADMIN)) },
    { route: 'dashboard page', bytes: rawRequest('GET', '/admin/') },
    { route: 'dashboard script', bytes: rawRequest('GET', '/admin/dashboard.js') },
    { route: 'dashboard stream', bytes: rawRequest('GET', '/admin/stream', bearer(ADMIN)) },
    { route: 'payment', bytes: rawRequest('POST', '/events/pay/orders/1/paid', bearer(PAYER)) },
    { route: 'payment mid-body', bytes: chunkedPay, cut: chunkedPay.length - 8 },
    { route: 'buy', bytes: Buffer.from(buyRequest('ab', token('clicker'))) },
    { route: 'buy mid-body', bytes: chunkedBuy, cut: chunkedBuy.length - 8 },
    { route: '/ws upgrade', bytes: upgrade },
    { route: '/ws upgrade cut', bytes: upgrade, cut: 40 },
    { route: 'request line cut', bytes: rawRequest('GET', '/healthz'), cut: 9 },
  ];
}

/** Closes a socket the way a client that gives up does: FIN, or RST; at once or after a loop turn. */
async function hangUp(s: net.Socket, style: number): Promise<void> {
  const closed = new Promise((r) => s.once('close', r));
  if (style === 2) await new Promise((r) => setImmediate(r));
  if (style === 1) s.resetAndDestroy();
  else s.destroy();
  await closed;
}

/** Sends every hang-up; resolves with how many connections were refused (a crashed process refuses them). */
async function waves(port: number, list: readonly Hangup[]): Promise<number> {
  let refused = 0;
  for (let start = 0; start < HANGUPS; start += WAVE) {
    await Promise.all(
      Array.from({ length: Math.min(WAVE, HANGUPS - start) }, async (_, k) => {
        const i = start + k;
        const h = list[i % list.length] as Hangup;
        const s = await connect(port).catch(() => undefined);
        if (s === undefined) return void refused++;
        s.on('error', () => undefined);
        s.write(h.cut === undefined ? h.bytes : h.bytes.subarray(0, h.cut));
        await hangUp(s, Math.floor(i / list.length) % 3);
      }),
    );
  }
  return refused;
}

/** What the admin stats say is parked or waiting, summed over the server's processes. */
async function queueOf(s: Served, event: string): Promise<{ parked: number; waiting: number }> {
  return json(await ask(s.port, 'GET', `/admin/events/${event}`, bearer(ADMIN))).queue as { parked: number; waiting: number };
}

async function nothingParked(t: Test, s: Served, event: string): Promise<void> {
  await until(async () => {
    const q = await queueOf(s, event);
    return q.parked === 0 && q.waiting === 0;
  }, `${event}: nothing parked`, 15_000, 50);
  t.pass(`${event}: nothing parked or waiting`);
}

/** Buys parked on a server that decides one a second per worker, and their clients hanging up. */
async function parkedHttp(t: Test, s: Served, count: number, prefix: string): Promise<number> {
  const sockets = await Promise.all(Array.from({ length: count }, () => connect(s.port)));
  let answered = 0;
  const busy: string[] = [];
  sockets.forEach((sock, i) => {
    sock.on('error', () => undefined);
    sock.once('data', (d: Buffer) => {
      answered++;
      if (d.toString().startsWith('HTTP/1.1 429 ')) busy.push(d.toString());
    });
    sock.write(buyRequest('park', token(`${prefix}${i}`)));
  });
  // The other worker's count is at most a second old, and a second lets one more through per worker.
  await until(async () => answered + (await queueOf(s, 'park')).parked >= count - 2 * s.workers, `${prefix}: ${count} parked or answered`, 15_000, 20);
  await Promise.all(sockets.map((sock, i) => hangUp(sock, i % 3)));
  return busy.length;
}

for (const workers of WORKER_COUNTS) {
  t.test(`SECKILL_WORKERS=${workers}: clients that hang up on every route crash nothing and leave nothing parked`, async (t) => {
    const s = await serve(t, workers, { SECKILL_PAYMENT_TOKEN: PAYER });
    // One decision a second per worker, a minute's patience: what is sent stays parked until its client leaves.
    const slow = await serve(t, workers, { SECKILL_QUEUE_RATE: '1', SECKILL_QUEUE_BURST: '1', SECKILL_QUEUE_TIMEOUT_MS: '60000', SECKILL_QUEUE_CAPACITY: '600' });
    t.equal((await putEvent(s.base, 'ab', { stock: 1_000_000, start: 'now', end: 4_000_000_000_000 })).status, 201);
    t.equal((await putEvent(s.base, 'pay', { stock: 10, payWithin: 3600 })).status, 201);
    t.equal((await putEvent(s.base, 'lt', { stock: 1_000_000, limit: 2, skus: { red: 500_000, blue: 500_000 } })).status, 201);
    t.equal((await putEvent(s.base, 'pw', { stock: 10, pow: EASY_POW })).status, 201);
    for (const e of ['ab', 'pay', 'lt', 'pw']) await known(s, e);
    t.equal(json(await ask(s.port, 'POST', '/events/pay/buy', bearer(token('payer0')))).c, 0);
    t.equal(json(await ask(s.port, 'POST', '/events/lt/buy?q=2&sku=blue', bearer(token('lot-buyer')))).c, 0);
    t.equal((await putEvent(slow.base, 'park', { stock: 1_000_000 })).status, 201);
    await known(slow, 'park');
    const pids = { main: s.servingPids(), slow: slow.servingPids() };
    t.equal(pids.main.length, workers, `${workers} serving process(es)`);

    await t.test(`${HANGUPS} hang-ups in waves of ${WAVE} over ${hangups().length} kinds of request`, async (t) => {
      const refused = await waves(s.port, hangups());
      t.equal(refused, 0, 'every connection accepted');
      // What the server said, when it stopped accepting (a crash is caught by the checks at the end).
      if (refused > 0) t.comment(`the server's last lines:\n${s.output().split('\n').slice(-30).join('\n')}`);
    });

    await t.test('dashboard streams: the client leaves after the first snapshot, or at curl --max-time', async (t) => {
      for (let round = 0; round < 4; round++) {
        await Promise.all(
          Array.from({ length: 8 }, async (_, i) => {
            const sock = await connect(s.port);
            sock.on('error', () => undefined);
            sock.write(rawRequest('GET', '/admin/stream', bearer(ADMIN)));
            let seen = '';
            for await (const d of sock) if ((seen += (d as Buffer).toString()).includes('event: snapshot')) break;
            await hangUp(sock, i % 3);
          }),
        );
      }
      const curls = await Promise.all(
        Array.from(
          { length: 4 },
          () =>
            new Promise<number>((resolve) => {
              const child = execFile('curl', ['-sN', '--max-time', '1', '-H', `authorization: Bearer ${ADMIN}`, `${s.base}/admin/stream`], () => resolve(child.exitCode ?? -1));
            }),
        ),
      );
      t.same(curls, [28, 28, 28, 28], 'curl gave up at --max-time (exit 28), the stream still flowing');
      // Each process takes 16 streams: none of those left behind still holds a place.
      const held = await Promise.all(Array.from({ length: 16 }, () => connect(s.port)));
      const heads = await Promise.all(
        held.map(async (sock) => {
          sock.write(rawRequest('GET', '/admin/stream', bearer(ADMIN)));
          for await (const d of sock) return (d as Buffer).toString().split('\r\n')[0];
          return '';
        }),
      );
      t.same(new Set(heads), new Set(['HTTP/1.1 200 OK']), '16 new streams open');
      for (const sock of held) sock.destroy();
    });

    await t.test('parked buys whose clients leave (HTTP and WebSocket)', async (t) => {
      const busy = await parkedHttp(t, slow, 700, 'h');
      t.ok(busy > 0, `past the queue's 600 places: ${busy} answered busy at once`);
      await nothingParked(t, slow, 'park');
      await parkedHttp(t, slow, 300, 'i');
      await nothingParked(t, slow, 'park');
      const clients = await Promise.all(Array.from({ length: 10 }, () => WsClient.open(slow.port)));
      let answered = 0;
      clients.forEach((c, i) => {
        for (let k = 0; k < 20; k++) void c.buy('park', token(`ws${i}-${k}`)).then(() => answered++);
      });
      await until(async () => answered + (await queueOf(slow, 'park')).parked >= 200 - 2 * workers, 'WebSocket buys parked', 15_000, 20);
      for (const c of clients) c.socket.terminate();
      await nothingParked(t, slow, 'park');
      const k = eventKeys('park');
      const [left, buyers] = [Number(await slow.redis.get(k.stock)), await slow.redis.hlen(k.buyers)];
      t.equal(left + buyers, 1_000_000, `remaining + buyers = stock (${buyers} decided before their clients left)`);
    });

    await t.test('afterwards: the same processes, still answering', async (t) => {
      for (const [name, server] of [['main', s], ['slow', slow]] as const) {
        t.same(server.servingPids(), pids[name], `${name}: every serving process is the one there before`);
        t.equal(server.child.exitCode, null, `${name}: the server runs`);
        t.notMatch(server.output(), /worker exited|uncaught|"level":60/, `${name}: no worker exited, nothing fatal`);
        for (let i = 0; i < 4 * workers; i++) t.equal((await ask(server.port, 'GET', '/healthz')).status, 200);
      }
      await nothingParked(t, s, 'ab');
      t.match(json(await ask(s.port, 'POST', '/events/ab/buy', bearer(token('after')))), { c: 0 }, 'main: a buy wins');
      t.match(json(await ask(slow.port, 'POST', '/events/park/buy', bearer(token('after')))), { c: 0 }, 'slow: a buy wins');
      t.same(json(await ask(s.port, 'POST', '/events/pay/orders/1/paid', bearer(PAYER))), { c: 0, o: 1, p: 'paid' }, 'the payment route answers');
    });
  });
}
