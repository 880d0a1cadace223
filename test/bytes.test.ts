import { unpack } from 'msgpackr';
import t, { type Test } from 'tap';
import { openEvent, putEvent, testApp, token } from './helpers/app';
import { buyRequest, exchange } from './helpers/raw';
import { until } from './helpers/wait';

const LIMIT = 100;
/** 401 must carry WWW-Authenticate (RFC 9110), which no shorter form avoids. */
const LIMIT_401 = 106;
/** ...and for a token that was there and refused, why (RFC 6750 §3): `error="invalid_token", error_description="wrong algorithm"` at most. */
const LIMIT_401_REFUSED = 165;

function parse(raw: Buffer): { status: number; headers: string[]; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine, ...headers] = raw.subarray(0, end).toString().split('\r\n');
  return { status: Number(statusLine?.split(' ')[1]), headers: headers.map((h) => h.split(':')[0]!.toLowerCase()), body: raw.subarray(end + 4) };
}

const seen = new Map<number, number>();

async function check(t: Test, port: number, what: string, request: string, code: number, status: number, msgpack = false): Promise<number> {
  const raw = await exchange(port, request);
  const r = parse(raw);
  const body = (msgpack ? unpack(r.body) : JSON.parse(r.body.toString())) as { c: number };
  t.equal(r.status, status, `${what}: HTTP ${status}`);
  t.equal(body.c, code, `${what}: code ${code}`);
  t.ok(raw.length <= (status !== 401 ? LIMIT : raw.includes('error="invalid_token"') ? LIMIT_401_REFUSED : LIMIT_401), `${what}: ${raw.length} bytes`);
  t.notOk(r.headers.includes('content-type') || r.headers.includes('uwebsockets'), `${what}: no needless header`);
  t.equal(r.headers.includes('retry-after'), status === 429 || status === 503, `${what}: Retry-After exactly on 429 and 503`);
  seen.set(code, Math.max(seen.get(code) ?? 0, raw.length));
  return raw.length;
}

const MSGPACK = 'accept: application/msgpack\r\n';

t.test('decisions and refusals', async (t) => {
  const app = await testApp(t);
  const now = Date.now();
  // Stock 10,000,000 with one unit left: the win carries the largest order number there can be.
  t.equal((await putEvent(app.base, 'big', { stock: 10_000_000 })).status, 201);
  await app.redis.set('sk:{big}:stock', '1');
  await app.catalog.load('big');
  await openEvent(t, app.base, 'small', 1);
  await putEvent(app.base, 'soon', { stock: 1, start: now + 3_600_000, end: now + 7_200_000 });
  await putEvent(app.base, 'over', { stock: 1, start: now - 30_000, end: now - 10_000 });
  const p = app.port;

  await check(t, p, 'won, order 10000000', buyRequest('big', token('w')), 0, 200);
  await check(t, p, 'won (msgpack)', buyRequest('small', token('m'), MSGPACK), 0, 200, true);
  for (const [extra, m] of [['', false], [MSGPACK, true]] as const) {
    const f = m ? ' (msgpack)' : '';
    await check(t, p, `already bought${f}`, buyRequest('big', token('w'), extra), 2, 200, m);
    await check(t, p, `sold out${f}`, buyRequest('big', token('x'), extra), 1, 200, m);
    await check(t, p, `not started${f}`, buyRequest('soon', token('a'), extra), 3, 200, m);
    await check(t, p, `ended${f}`, buyRequest('over', token('a'), extra), 4, 200, m);
    await check(t, p, `unknown event${f}`, buyRequest('none', token('a'), extra), 7, 404, m);
    await check(t, p, `unauthorized${f}`, buyRequest('small', undefined, extra), 8, 401, m);
    // The longest reason: a token of another algorithm.
    const hs384 = `${Buffer.from('{"alg":"HS384","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"w"}').toString('base64url')}.c2ln`;
    const refused = await check(t, p, `unauthorized, refused token${f}`, buyRequest('small', hs384, extra), 8, 401, m);
    t.equal(refused, m ? LIMIT_401_REFUSED - 1 : LIMIT_401_REFUSED, `unauthorized, refused token${f}: the documented size (MessagePack's {c:8} is a byte shorter)`);
    await check(t, p, `wrong method${f}`, `GET /events/small/buy HTTP/1.1\r\nhost: x\r\n${extra}\r\n`, 9, 405, m);
    await check(t, p, `unknown route${f}`, `GET /x HTTP/1.1\r\nhost: x\r\n${extra}\r\n`, 9, 404, m);
    await check(t, p, `no order${f}`, `GET /events/small/order HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token('nobody')}\r\n${extra}\r\n`, 11, 404, m);
    await check(t, p, `too large${f}`, `POST /events/small/buy HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n${extra}\r\n`, 9, 413, m);
  }
});

t.test('busy, timeout, unavailable', async (t) => {
  // One token a second and room for one parked request.
  const app = await testApp(t, { queueCapacity: 1, queueRate: 1, queueBurst: 1, queueTimeoutMs: 300, redisTimeoutMs: 100 });
  await openEvent(t, app.base, 'q', 100);
  await check(t, app.port, 'won with the only token', buyRequest('q', token('q0')), 0, 200);
  const parked = exchange(app.port, buyRequest('q', token('q1')));
  await until(() => app.queue.live === 1, 'one parked');
  await check(t, app.port, 'busy', buyRequest('q', token('q2')), 5, 429);
  const raw = await parked;
  t.equal(parse(raw).status, 503, 'the parked one timed out');
  t.same(JSON.parse(parse(raw).body.toString()), { c: 6 });
  t.ok(raw.length <= LIMIT, `timeout: ${raw.length} bytes`);
  t.match(raw.toString(), /\r\nRetry-After: 1\r\n/, 'timeout: Retry-After');
  seen.set(6, raw.length);

  app.redis.disconnect();
  await check(t, app.port, 'unavailable', buyRequest('q', token('q3')), 10, 503);
});

t.test('every outcome was measured', async (t) => {
  t.same([...seen.keys()].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  t.comment(`largest answer in bytes, by code: ${JSON.stringify(Object.fromEntries(seen))}`);
});
