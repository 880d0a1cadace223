import http from 'node:http';
import { once } from 'node:events';
import { unpack } from 'msgpackr';
import { createSigner } from 'fast-jwt';
import t, { type Test } from 'tap';
import { eventKeys } from '../src/redis/keys';
import { ADMIN, putEvent, token } from './helpers/app';
import { ask, bearer, chunked, json, known, rawRequest, readAnswer, serve, WORKER_COUNTS, type RawAnswer, type Served } from './helpers/contract';
import { connect } from './helpers/raw';
import { testMysql } from './helpers/services';
import { until } from './helpers/wait';
import { WsClient } from './helpers/ws';

const PAYER = 'contract-payment-token';
const METRICS = 'contract-metrics-token';
const SHOP = 'https://shop.example.com';
/** Per-user buys a second, per process: the one way to get 5 without starving the queue. */
const USER_RATE = 20;

/** A buy answer is at most 100 bytes, a 401 at most 106, or 165 with the reason a token was refused (test/bytes.test.ts). */
function outcome(t: Test, a: RawAnswer, what: string, status: number, body: Record<string, number>): void {
  t.equal(a.status, status, `${what}: HTTP ${status}`);
  t.same(json(a), body, `${what}: ${JSON.stringify(body)}`);
  const challenge = a.headers.get('www-authenticate');
  t.ok(a.bytes <= (status !== 401 ? 100 : challenge === 'Bearer' ? 106 : 165), `${what}: ${a.bytes} bytes`);
  t.equal(a.headers.get('retry-after'), status === 429 || status === 503 ? '1' : undefined, `${what}: Retry-After exactly on 429 and 503`);
  if (status !== 401) t.equal(challenge, undefined, `${what}: WWW-Authenticate exactly on 401`);
  else t.match(challenge, /^Bearer( error="invalid_token", error_description="[a-z ]+")?$/, `${what}: WWW-Authenticate on 401 (${challenge})`);
}

const buyOf = (port: number, event: string, user: string | undefined, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawAnswer> =>
  ask(port, 'POST', `/events/${event}/buy`, { ...(user === undefined ? {} : bearer(token(user))), ...headers }, body);
const orderOf = (port: number, event: string, user: string): Promise<RawAnswer> => ask(port, 'GET', `/events/${event}/order`, bearer(token(user)));
const payOf = (port: number, event: string, order: number | string, auth = PAYER): Promise<RawAnswer> =>
  ask(port, 'POST', `/events/${event}/orders/${order}/paid`, auth === '' ? {} : bearer(auth));

/** `n` times on fresh connections: with two workers, each of them answers some. */
async function everyWorker(s: Served, n: (s: Served) => number, check: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < n(s); i++) await check(i);
}
const rounds = (s: Served): number => 3 * s.workers;

for (const workers of WORKER_COUNTS) {
  t.test(`SECKILL_WORKERS=${workers}: every route's answers`, async (t) => {
    const s = await serve(t, workers, {
      SECKILL_PAYMENT_TOKEN: PAYER,
      SECKILL_METRICS_TOKEN: METRICS,
      SECKILL_CORS_ORIGINS: SHOP,
      SECKILL_USER_RATE: String(USER_RATE),
    });
    const p = s.port;
    const now = Date.now();
    t.equal((await putEvent(s.base, 'sale', { stock: 4, name: 'Sale', start: now - 1000, end: now + 3_600_000 })).status, 201);
    t.equal((await putEvent(s.base, 'soon', { stock: 1, start: now + 3_600_000, end: now + 7_200_000 })).status, 201);
    t.equal((await putEvent(s.base, 'over', { stock: 1, start: now - 30_000, end: now - 10_000 })).status, 201);
    t.equal((await putEvent(s.base, 'busy', { stock: 1000 })).status, 201);
    for (const e of ['sale', 'soon', 'over', 'busy']) await known(s, e);

    await t.test('buy: every outcome, from every worker', async (t) => {
      const orders = new Set<number>();
      for (let i = 0; i < 3; i++) {
        const a = await buyOf(p, 'sale', `w${i}`);
        outcome(t, a, `w${i} won`, 200, { c: 0, o: Number(json(a).o) });
        orders.add(Number(json(a).o));
      }
      const packed = await buyOf(p, 'sale', 'w3', { accept: 'application/msgpack' });
      t.equal(packed.status, 200);
      const last = unpack(packed.body) as { c: number; o: number };
      t.equal(last.c, 0, 'won, as MessagePack');
      orders.add(last.o);
      t.same([...orders].sort(), [1, 2, 3, 4], 'order numbers 1..4, once each');
      const w0 = await orderOf(p, 'sale', 'w0');
      await everyWorker(s, rounds, async () => outcome(t, await buyOf(p, 'sale', 'w0'), 'already bought', 200, { c: 2, o: Number(json(w0).o) }));
      await everyWorker(s, rounds, async (i) => outcome(t, await buyOf(p, 'sale', `late${i}`), 'sold out', 200, { c: 1 }));
      await everyWorker(s, rounds, async (i) => outcome(t, await buyOf(p, 'soon', `s${i}`), 'not started', 200, { c: 3 }));
      await everyWorker(s, rounds, async (i) => outcome(t, await buyOf(p, 'over', `e${i}`), 'ended', 200, { c: 4 }));
      await everyWorker(s, rounds, async (i) => outcome(t, await buyOf(p, 'none', `n${i}`), 'unknown event', 404, { c: 7 }));
      const foreign = createSigner({ key: 'another-secret' })({ sub: 'x' });
      await everyWorker(s, rounds, async () => {
        outcome(t, await buyOf(p, 'sale', undefined), 'no token', 401, { c: 8 });
        outcome(t, await buyOf(p, 'sale', undefined, bearer('not.a.jwt')), 'garbage token', 401, { c: 8 });
        outcome(t, await buyOf(p, 'sale', undefined, bearer(foreign)), 'foreign key', 401, { c: 8 });
      });
      await everyWorker(s, rounds, async (i) => {
        const get = await ask(p, 'GET', '/events/sale/buy', bearer(token(`b${i}`)));
        outcome(t, get, 'wrong method', 405, { c: 9 });
        t.equal(get.headers.get('allow'), 'POST');
        outcome(t, await ask(p, 'POST', '/events/sale/sell', bearer(token(`b${i}`))), 'unknown route', 404, { c: 9 });
        outcome(t, await buyOf(p, 'sale', `b${i}`, { 'content-length': '5000' }), 'body over 1 KiB', 413, { c: 9 });
        outcome(t, await buyOf(p, 'sale', `b${i}`, { 'transfer-encoding': 'chunked' }, chunked(Buffer.alloc(1600, 97), 800)), 'chunked body over 1 KiB', 413, { c: 9 });
        outcome(t, await buyOf(p, 'sale', `b${i}`, {}, 'a small body is ignored'), 'small body', 200, { c: 1 });
        outcome(t, await buyOf(p, 'sale', `b${i}`, { 'transfer-encoding': 'chunked' }, chunked('small')), 'small chunked body', 200, { c: 1 });
      });
      // 100 clicks of one user at once: whatever the split between workers, one of them sees over USER_RATE in one second.
      const hammer = await Promise.all(Array.from({ length: 100 }, () => buyOf(p, 'busy', 'hammer')));
      const busy = hammer.filter((a) => a.status === 429);
      t.ok(busy.length > 0, `${busy.length} clicks over the per-user rate: busy`);
      for (const a of busy.slice(0, 3)) outcome(t, a, 'busy', 429, { c: 5 });
      t.ok(hammer.every((a) => a.status === 429 || [0, 2].includes(Number(json(a).c))), 'the rest: won once, then already bought');
      t.equal(await s.redis.get(eventKeys('sale').stock), '0', 'the refusals took nothing');
      t.equal(await s.redis.hlen(eventKeys('sale').buyers), 4);
    });

    await t.test('the order query', async (t) => {
      const o = Number(json(await orderOf(p, 'sale', 'w1')).o);
      await everyWorker(s, rounds, async () => {
        const a = await orderOf(p, 'sale', 'w1');
        t.same([a.status, json(a)], [200, { c: 0, o, s: 'pending' }], 'a winner: the order, pending without MySQL');
        outcome(t, await ask(p, 'GET', '/events/sale/order'), 'no token', 401, { c: 8 });
        outcome(t, await orderOf(p, 'none', 'w1'), 'unknown event', 404, { c: 7 });
        outcome(t, await orderOf(p, 'sale', 'nobody'), 'no order', 404, { c: 11 });
        const post = await ask(p, 'POST', '/events/sale/order', bearer(token('w1')));
        t.same([post.status, post.headers.get('allow'), json(post)], [405, 'GET, HEAD', { c: 9 }]);
      });
    });

    await t.test('GET /events/{e}: public, cacheable, no count', async (t) => {
      const view = { event: 'sale', name: 'Sale', start: new Date(now - 1000).toISOString(), end: new Date(now + 3_600_000).toISOString(), state: 'open', soldOut: true, paused: false };
      // Each worker hears of the other's sell-out by the sale news.
      await until(async () => (await Promise.all(Array.from({ length: rounds(s) }, () => ask(p, 'GET', '/events/sale')))).every((a) => json(a).soldOut === true), 'every worker knows it is sold out');
      await everyWorker(s, rounds, async () => {
        const a = await ask(p, 'GET', '/events/sale');
        t.same([a.status, a.headers.get('cache-control'), a.headers.get('content-type'), json(a)], [200, 'public, max-age=1', 'application/json', view]);
        outcome(t, await ask(p, 'GET', '/events/none'), 'unknown event', 404, { c: 7 });
        const del = await ask(p, 'DELETE', '/events/sale');
        t.same([del.status, del.headers.get('allow')], [405, 'GET, HEAD']);
      });
    });

    await t.test('admin PUT and GET', async (t) => {
      const admin = { ...bearer(ADMIN), 'content-type': 'application/json' };
      const def = JSON.stringify({ stock: 5, start: now + 60_000, end: now + 120_000 });
      const put = (id: string, body: string, headers: Record<string, string> = admin): Promise<RawAnswer> => ask(p, 'PUT', `/admin/events/${id}`, headers, body);
      await everyWorker(s, rounds, async () => {
        const wrong = await put('x', def, bearer('wrong'));
        t.same([wrong.status, wrong.headers.get('www-authenticate'), json(wrong).c], [401, 'Bearer', 8], 'wrong admin token');
        t.equal((await put('x', def, {})).status, 401, 'no admin token');
        const badId = await put('a.b', def);
        t.match([badId.status, json(badId)], [400, { c: 9, error: /event id/ }], 'bad event id');
        t.match(json(await put('x', '{nope')), { c: 9, error: 'body must be JSON' });
        t.match(json(await put('x', JSON.stringify({ stock: 0, start: 1, end: 2 }))), { c: 9, error: /stock/ });
        const large = await put('x', def + ' '.repeat(17_000));
        t.same([large.status, json(large)], [413, { c: 9, error: 'body over 16384 bytes' }], 'body too large');
      });
      t.equal(await s.redis.exists(eventKeys('x').meta), 0, 'nothing refused was created');
      const created = await put('adm', def);
      t.match([created.status, json(created)], [201, { result: 'created', event: 'adm', stock: 5, state: 'scheduled', remaining: 5 }]);
      await everyWorker(s, rounds, async () => {
        const again = await put('adm', def);
        t.match([again.status, json(again)], [200, { result: 'unchanged', event: 'adm', remaining: 5 }], 'the same definition: unchanged');
        const started = await put('sale', JSON.stringify({ stock: 300, start: now - 1000, end: now + 60_000 }));
        t.match([started.status, json(started)], [409, { result: /refused/ }], 'a running sale cannot be changed');
        const stats = await ask(p, 'GET', '/admin/events/sale', bearer(ADMIN));
        t.match([stats.status, json(stats)], [200, { event: 'sale', stock: 4, remaining: 0, sold: 4, buyers: 4, queue: { parked: 0 } }]);
        t.equal((await ask(p, 'GET', '/admin/events/sale')).status, 401, 'stats need the admin token');
        const none = await ask(p, 'GET', '/admin/events/none', bearer(ADMIN));
        t.match([none.status, json(none)], [404, { c: 7 }]);
        const other = await ask(p, 'DELETE', '/admin/events/sale', bearer(ADMIN));
        t.same([other.status, other.headers.get('allow')], [405, 'GET, HEAD, PUT']);
      });
      t.equal(await s.redis.get(eventKeys('sale').stock), '0', 'the refused change took nothing back');
    });

    await t.test('/metrics, /healthz, /readyz, the dashboard, the upgrade', async (t) => {
      await everyWorker(s, rounds, async () => {
        const none = await ask(p, 'GET', '/metrics');
        t.same([none.status, none.headers.get('www-authenticate'), json(none).c], [401, 'Bearer', 8], '/metrics without a token');
        t.equal((await ask(p, 'GET', '/metrics', bearer(token('buyer')))).status, 401, "a buyer's token");
        for (const tok of [METRICS, ADMIN]) {
          const m = await ask(p, 'GET', '/metrics', bearer(tok));
          t.equal(m.status, 200);
          t.match(m.headers.get('content-type'), /^text\/plain/);
          t.match(m.body.toString(), /^# HELP seckill_decisions_total /m);
        }
        t.equal((await ask(p, 'POST', '/metrics', bearer(ADMIN))).status, 405);

        const health = await ask(p, 'GET', '/healthz');
        t.match([health.status, json(health)], [200, { ok: true, redis: true, services: { 'redis-server': { up: true } } }]);
        t.same(json(health).workers, workers === 1 ? undefined : { restarts: 0 }, 'the worker restarts with workers');
        const ready = await ask(p, 'GET', '/readyz');
        t.same([ready.status, json(ready)], [200, { ok: true, accepting: true, redis: true }]);
        for (const path of ['/healthz', '/readyz']) {
          const head = await ask(p, 'HEAD', path);
          t.equal(head.status, 200, `HEAD ${path}`);
          t.ok(Number(head.headers.get('content-length')) > 0, `HEAD ${path}: the GET body's length`);
          t.equal(head.body.length, 0, `HEAD ${path}: no body`);
          const post = await ask(p, 'POST', path);
          t.same([post.status, post.headers.get('allow')], [405, 'GET, HEAD']);
        }
        t.equal((await ask(p, 'HEAD', '/readyz')).headers.get('content-length'), String(ready.body.length), 'HEAD /readyz: exactly the GET body length');

        const page = await ask(p, 'GET', '/admin/');
        t.match([page.status, page.headers.get('content-type'), page.headers.get('content-security-policy')], [200, /^text\/html/, /default-src 'none'/]);
        t.equal((await ask(p, 'GET', '/admin/stream')).status, 401, 'the stream needs the admin token');
        const stream = await connect(p);
        stream.write(rawRequest('GET', '/admin/stream', bearer(ADMIN)));
        let head = '';
        for await (const d of stream) if ((head += (d as Buffer).toString()).includes('\r\n\r\n')) break;
        stream.destroy();
        t.match(head, /^HTTP\/1\.1 200 OK\r\n[^]*Content-Type: text\/event-stream/, 'the stream opens with the admin token');

        t.match(await WsClient.open(p, { bearer: 'nope' }).catch((e: unknown) => e), { status: 401 }, '/ws with a bad token: 401');
      });
    });

    await t.test('CORS', async (t) => {
      await everyWorker(s, rounds, async () => {
        const pre = await ask(p, 'OPTIONS', '/events/sale/buy', { origin: SHOP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' });
        t.same(
          [pre.status, pre.headers.get('access-control-allow-origin'), pre.headers.get('access-control-allow-headers'), pre.headers.get('vary')],
          [204, SHOP, 'authorization, content-type', 'Origin'],
          'preflight answered',
        );
        t.match(pre.headers.get('access-control-allow-methods'), /POST/);
        const admin = await ask(p, 'OPTIONS', '/admin/events/sale', { origin: SHOP, 'access-control-request-method': 'PUT' });
        t.match([admin.status, admin.headers.get('access-control-allow-methods')], [204, /PUT/], 'on any path');
        const stranger = await ask(p, 'OPTIONS', '/events/sale/buy', { origin: 'https://evil.example', 'access-control-request-method': 'POST' });
        t.same([stranger.status, stranger.headers.get('access-control-allow-origin')], [405, undefined], 'an origin not listed: no CORS header');
        const a = await buyOf(p, 'sale', 'w0', { origin: SHOP });
        t.same([a.headers.get('access-control-allow-origin'), json(a).c], [SHOP, 2], 'an answer to a listed origin');
        t.equal((await buyOf(p, 'sale', 'w0')).headers.get('access-control-allow-origin'), undefined, 'no Origin, no CORS header');
      });
    });

    await t.test('the payment callback', async (t) => {
      t.equal((await putEvent(s.base, 'pay', { stock: 3, payWithin: 3600 })).status, 201);
      await known(s, 'pay');
      for (const [i, u] of ['a', 'b', 'c'].entries()) t.same(json(await buyOf(p, 'pay', u)), { c: 0, o: i + 1 });
      const due = json(await orderOf(p, 'pay', 'a'));
      t.match(due, { c: 0, o: 1, s: 'pending', p: 'due', d: Number });
      t.same(json(await payOf(p, 'pay', 1)), { c: 0, o: 1, p: 'paid' }, 'paid');
      await everyWorker(s, rounds, async () => {
        const again = await payOf(p, 'pay', 1, ADMIN);
        t.same([again.status, json(again)], [200, { c: 0, o: 1, p: 'paid' }], 'again, with the admin token: the same answer');
        t.equal(json(await orderOf(p, 'pay', 'a')).p, 'paid');
        outcome(t, await payOf(p, 'pay', 9), 'no such order', 404, { c: 11 });
        outcome(t, await payOf(p, 'pay', 2, ''), 'no token', 401, { c: 8 });
        outcome(t, await payOf(p, 'pay', 2, 'wrong'), 'a wrong token', 401, { c: 8 });
        outcome(t, await payOf(p, 'pay', 2, token('b')), "a buyer's token", 401, { c: 8 });
        outcome(t, await payOf(p, 'pay', '0'), 'order 0', 400, { c: 9 });
        outcome(t, await payOf(p, 'pay', 'abc'), 'not a number', 400, { c: 9 });
        outcome(t, await payOf(p, 'none', 1), 'no such event', 404, { c: 7 });
        const get = await ask(p, 'GET', '/events/pay/orders/2/paid', bearer(PAYER));
        t.same([get.status, get.headers.get('allow')], [405, 'POST']);
      });
      // Order 3's deadline moved to the past: the primary's sweeper expires it.
      await s.redis.zadd(eventKeys('pay').due, 'XX', 1, '3');
      await until(async () => json(await orderOf(p, 'pay', 'c')).p === 'expired', 'order 3 expires');
      await everyWorker(s, rounds, async () => {
        const late = await payOf(p, 'pay', 3);
        t.same([late.status, json(late)], [409, { c: 12, o: 3, p: 'expired' }], 'paying an expired order: 409, code 12');
      });
      t.equal(json(await orderOf(p, 'pay', 'b')).p, 'due', 'order 2 untouched');
    });

    await t.test('bodies: chunked and Expect: 100-continue are served like a plain body', async (t) => {
      await bodies(t, s);
    });
  });
}

/** The ways a client may send a body besides a plain Content-Length. */
const SENDS = ['node chunked', 'raw chunked', 'node expect', 'raw expect'] as const;
/** 'raw chunked' sends its pieces one write at a time; this sends them in one. */
type Send = (typeof SENDS)[number] | 'raw chunked at once';

/** One request whose body goes `how`, on a fresh connection. */
async function send(port: number, how: Send, method: string, target: string, headers: Record<string, string>, body: string | Buffer): Promise<RawAnswer> {
  if (how === 'node chunked' || how === 'node expect') {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers: how === 'node expect' ? { ...headers, expect: '100-continue', 'content-length': Buffer.byteLength(body) } : headers, agent: false });
    const answer = once(req, 'response') as Promise<[http.IncomingMessage]>;
    if (how === 'node expect') await once(req, 'continue');
    else req.write(Buffer.from(body).subarray(0, 3)); // no Content-Length: node sends it chunked
    req.end(how === 'node expect' ? body : Buffer.from(body).subarray(3));
    const [res] = await answer;
    const parts: Buffer[] = [];
    for await (const d of res) parts.push(d as Buffer);
    const b = Buffer.concat(parts);
    const h = new Map(Object.entries(res.headers).map(([k, v]) => [k, String(v)]));
    return { status: res.statusCode ?? 0, headers: h, body: b, bytes: b.length };
  }
  const s = await connect(port);
  s.on('error', () => undefined); // a body over the limit: the server answers and closes while we write
  try {
    let answered = false;
    const answer = readAnswer(s).finally(() => (answered = true));
    if (how === 'raw expect') {
      const continued = new Promise<void>((resolve) => s.once('data', (d: Buffer) => d.toString().startsWith('HTTP/1.1 100 ') && resolve()));
      s.write(rawRequest(method, target, { ...headers, expect: '100-continue', 'content-length': String(Buffer.byteLength(body)) }));
      await continued;
      s.write(body);
    } else {
      const framed = chunked(body);
      s.write(rawRequest(method, target, { ...headers, 'transfer-encoding': 'chunked' }));
      // In pieces, each its own write: the server gets the body over several reads.
      const piece = how === 'raw chunked' ? 9 : framed.length;
      for (let i = 0; i < framed.length && !answered; i += piece) await new Promise((r) => s.write(framed.subarray(i, i + piece), r));
    }
    return await answer;
  } finally {
    s.destroy();
  }
}

async function bodies(t: Test, s: Served): Promise<void> {
  const p = s.port;
  const admin = { ...bearer(ADMIN), 'content-type': 'application/json' };
  const now = Date.now();
  for (let round = 0; round < s.workers; round++) {
    for (const how of SENDS) {
      const id = `b${round}-${how.replace(' ', '-')}`;
      const def = JSON.stringify({ stock: 7, start: now + 60_000, end: now + 120_000, name: how });
      const first = await send(p, how, 'PUT', `/admin/events/${id}`, admin, def);
      t.match([first.status, json(first)], [201, { result: 'created', event: id, stock: 7, name: how }], `${how}: created`);
      const plain = await ask(p, 'PUT', `/admin/events/${id}`, admin, def);
      t.same({ ...json(first), result: 'unchanged' }, json(plain), `${how}: the same answer as a plain body gets`);
      const again = await send(p, how, 'PUT', `/admin/events/${id}`, admin, def);
      t.same([again.status, json(again)], [plain.status, json(plain)], `${how}: the same definition again: unchanged`);
    }
  }
  const huge = JSON.stringify({ stock: 1, start: now + 60_000, end: now + 120_000 }) + ' '.repeat(20_000);
  for (const how of ['node chunked', 'raw chunked', 'raw chunked at once'] as const) {
    const big = await send(p, how, 'PUT', '/admin/events/huge', admin, huge);
    t.same([big.status, json(big)], [413, { c: 9, error: 'body over 16384 bytes' }], `${how}: a body over 16 KiB: 413`);
  }
  const expectHuge = await ask(p, 'PUT', '/admin/events/huge', { ...admin, expect: '100-continue', 'content-length': String(huge.length) });
  t.equal(expectHuge.status, 413, 'Expect with a length over 16 KiB: 413 without the body');
  t.equal(await s.redis.exists(eventKeys('huge').meta), 0, 'and nothing was created');

  t.equal((await putEvent(s.base, 'paybody', { stock: 7, payWithin: 3600 })).status, 201);
  await known(s, 'paybody');
  for (let i = 0; i < 7; i++) t.equal(json(await buyOf(p, 'paybody', `p${i}`)).o, i + 1);
  const payer = bearer(PAYER);
  const plain = await ask(p, 'POST', '/events/paybody/orders/1/paid', payer, '{"ref":"x"}');
  t.same([plain.status, json(plain)], [200, { c: 0, o: 1, p: 'paid' }], 'a plain body: paid');
  for (const [i, how] of SENDS.entries()) {
    const order = i + 2;
    const a = await send(p, how, 'POST', `/events/paybody/orders/${order}/paid`, payer, '{"ref":"x"}');
    t.same([a.status, json(a)], [200, { c: 0, o: order, p: 'paid' }], `${how}: paid like a plain body`);
    t.equal(json(await orderOf(p, 'paybody', `p${order - 1}`)).p, 'paid', `${how}: the order reads paid`);
    const none = await send(p, how, 'POST', '/events/paybody/orders/99/paid', payer, '{}');
    t.same([none.status, json(none)], [404, { c: 11 }], `${how}: no such order: 404 as with a plain body`);
  }
  const over = Buffer.alloc(2000, 97);
  for (const how of ['node chunked', 'raw chunked at once'] as const) {
    const big = await send(p, how, 'POST', '/events/paybody/orders/6/paid', payer, over);
    t.same([big.status, json(big)], [413, { c: 9 }], `${how}: a payment body over 1 KiB: 413`);
  }
  // A client still sending when the 413 goes out may see a reset instead: uWS closes at once after a 413 so
  // nobody streams a large body into it (README: "the connection closed"). Either way nothing is paid.
  const slowly = await send(p, 'raw chunked', 'POST', '/events/paybody/orders/6/paid', payer, over).catch(() => undefined);
  t.ok(slowly === undefined || Number.isNaN(slowly.status) || slowly.status === 413, `raw chunked in pieces: 413 or a reset (${slowly?.status})`);
  const expectBig = await ask(p, 'POST', '/events/paybody/orders/6/paid', { ...payer, expect: '100-continue', 'content-length': '2000' });
  t.same([expectBig.status, json(expectBig)], [413, { c: 9 }], 'Expect with a length over 1 KiB: 413');
  t.equal(json(await orderOf(p, 'paybody', 'p5')).p, 'due', 'the refused payments changed nothing: order 6 is still due');
}

t.test('the order query says "confirmed" once MySQL has the order, on every worker', async (t) => {
  const db = await testMysql(t);
  for (const workers of WORKER_COUNTS) {
    const s = await serve(t, workers, { MYSQL_URL: db.url, SECKILL_PERSIST_WAIT_MS: '10' });
    const event = `conf${workers}`;
    t.equal((await putEvent(s.base, event, { stock: 2 })).status, 201);
    await known(s, event);
    const won = json(await buyOf(s.port, event, 'buyer'));
    t.equal(won.c, 0);
    await until(async () => json(await orderOf(s.port, event, 'buyer')).s === 'confirmed', 'the persister stored it', 15_000, 20);
    await everyWorker(s, rounds, async () => {
      const a = await orderOf(s.port, event, 'buyer');
      t.same([a.status, json(a)], [200, { c: 0, o: won.o, s: 'confirmed' }], `workers=${workers}: confirmed`);
    });
  }
});
