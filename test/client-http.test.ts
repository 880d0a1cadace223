import t from 'tap';
import { ADMIN, buy, openEvent, putEvent, testApp, token } from './helpers/app';
import { exchange } from './helpers/raw';

const SHOP = 'https://shop.example.com';

t.test('the bearer scheme name is case-insensitive', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'case', 10);
  for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
    const res = await fetch(`${app.base}/events/case/buy`, { method: 'POST', headers: { authorization: `${scheme} ${token(scheme)}` } });
    t.same(await res.json(), { c: 0, o: ['bearer', 'BEARER', 'BeArEr'].indexOf(scheme) + 1 }, `${scheme}: a buyer token`);
  }
  const admin = await fetch(`${app.base}/admin/events/case`, { headers: { authorization: `bearer ${ADMIN}` } });
  t.equal(admin.status, 200, 'and the admin token');
  const other = await fetch(`${app.base}/events/case/buy`, { method: 'POST', headers: { authorization: `Basic ${token('x')}` } });
  t.equal(other.status, 401, 'another scheme is still refused');
});

t.test('GET /events/{e}: public, cacheable, no stock count', async (t) => {
  const app = await testApp(t);
  const now = Date.now();
  await putEvent(app.base, 'soon', { stock: 5, start: now + 3_600_000, end: now + 7_200_000, name: 'Soon sale' });
  await openEvent(t, app.base, 'one', 1);
  const res = await fetch(`${app.base}/events/soon`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('cache-control'), 'public, max-age=1');
  t.same(await res.json(), {
    event: 'soon',
    name: 'Soon sale',
    start: new Date(now + 3_600_000).toISOString(),
    end: new Date(now + 7_200_000).toISOString(),
    state: 'scheduled',
    soldOut: false,
    paused: false,
  });
  t.match(await (await fetch(`${app.base}/events/one`)).json(), { state: 'open', soldOut: false });
  t.equal((await buy(app.base, 'one', 'u1')).c, 0);
  const after = (await (await fetch(`${app.base}/events/one`)).json()) as Record<string, unknown>;
  t.equal(after.soldOut, true, 'sold out once the last unit is won');
  t.notOk('remaining' in after || 'stock' in after, 'no unit count');
  const none = await fetch(`${app.base}/events/nope`);
  t.same([none.status, await none.json()], [404, { c: 7 }]);
  t.equal((await fetch(`${app.base}/events/soon`, { method: 'DELETE' })).status, 405);
});

t.test('HEAD on the probes; liveness and readiness', async (t) => {
  const app = await testApp(t);
  const getLength = async (path: string): Promise<string> => String(Buffer.byteLength(await (await fetch(app.base + path)).text()));
  for (const path of ['/healthz', '/readyz']) {
    // /healthz reports ages in ms: its length can change between two requests (99 → 100), so a GET before and one after.
    const before = await getLength(path);
    const head = await fetch(app.base + path, { method: 'HEAD' });
    const after = await getLength(path);
    t.equal(head.status, 200, `HEAD ${path}`);
    t.ok([before, after].includes(head.headers.get('content-length') ?? ''), `HEAD ${path}: the GET body's length`);
    t.equal(await head.text(), '', `HEAD ${path}: no body`);
  }
  const raw = await exchange(app.port, 'HEAD /readyz HTTP/1.1\r\nhost: x\r\n\r\n').catch(() => Buffer.alloc(0));
  t.match(raw.toString(), /^HTTP\/1\.1 200 OK\r\n/, 'on the wire too');
  t.equal((await fetch(`${app.base}/healthz`, { method: 'POST' })).headers.get('allow'), 'GET, HEAD');
});

t.test('Retry-After on 429 and 503', async (t) => {
  const app = await testApp(t, { queueCapacity: 1, queueRate: 1, queueBurst: 1 });
  await openEvent(t, app.base, 'r', 100);
  await buy(app.base, 'r', 'first');
  const parked = fetch(`${app.base}/events/r/buy`, { method: 'POST', headers: { authorization: `Bearer ${token('p')}` } });
  let busy: Response;
  do busy = await fetch(`${app.base}/events/r/buy`, { method: 'POST', headers: { authorization: `Bearer ${token('b')}` } });
  while (busy.status !== 429 && (await busy.arrayBuffer()) !== undefined);
  t.equal(busy.headers.get('retry-after'), '1', '429 says when to retry');
  await parked;
  app.redis.disconnect();
  const down = await fetch(`${app.base}/events/r/buy`, { method: 'POST', headers: { authorization: `Bearer ${token('d')}` } });
  t.same([down.status, down.headers.get('retry-after')], [503, '1'], '503 too');
  const ready = await fetch(`${app.base}/readyz`);
  t.same([ready.status, ready.headers.get('retry-after')], [503, '1'], 'and a readiness 503');
  const ok = await fetch(`${app.base}/healthz`);
  t.equal(ok.headers.get('retry-after'), null, 'not on a 200');
});

t.test('CORS: listed origins only, preflight answered, Retry-After exposed', async (t) => {
  const app = await testApp(t, { corsOrigins: `${SHOP}, http://localhost:3000`, queueCapacity: 1, queueRate: 1, queueBurst: 1 });
  await openEvent(t, app.base, 'c', 100);
  const pre = await fetch(`${app.base}/events/c/buy`, {
    method: 'OPTIONS',
    headers: { origin: SHOP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
  });
  t.equal(pre.status, 204, 'preflight answered');
  t.equal(pre.headers.get('access-control-allow-origin'), SHOP);
  t.equal(pre.headers.get('access-control-allow-headers'), 'authorization, content-type', "only the headers a buy and an admin put need");
  t.match(pre.headers.get('access-control-allow-methods'), /POST/);
  t.equal(pre.headers.get('vary'), 'Origin');

  const stranger = await fetch(`${app.base}/events/c/buy`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
  t.equal(stranger.headers.get('access-control-allow-origin'), null, 'an origin not listed gets no CORS header');
  t.equal(stranger.status, 405, 'and the plain answer to OPTIONS');

  const buyRes = await fetch(`${app.base}/events/c/buy`, { method: 'POST', headers: { origin: SHOP, authorization: `Bearer ${token('w')}` } });
  t.same([buyRes.status, buyRes.headers.get('access-control-allow-origin'), await buyRes.json()], [200, SHOP, { c: 0, o: 1 }]);
  const noOrigin = await fetch(`${app.base}/events/c/buy`, { method: 'POST', headers: { authorization: `Bearer ${token('w')}` } });
  t.equal(noOrigin.headers.get('access-control-allow-origin'), null, 'no Origin, no CORS header (and no extra bytes)');
  const info = await fetch(`${app.base}/events/c`, { headers: { origin: 'http://localhost:3000' } });
  t.same([info.headers.get('access-control-allow-origin'), info.headers.get('vary')], ['http://localhost:3000', 'Origin'], 'the event page, with Vary');

  const parked = fetch(`${app.base}/events/c/buy`, { method: 'POST', headers: { authorization: `Bearer ${token('p')}` } });
  let busy: Response;
  do busy = await fetch(`${app.base}/events/c/buy`, { method: 'POST', headers: { origin: SHOP, authorization: `Bearer ${token('b')}` } });
  while (busy.status !== 429 && (await busy.arrayBuffer()) !== undefined);
  t.equal(busy.headers.get('access-control-expose-headers'), 'Retry-After', 'a page may read Retry-After');
  await parked;
});
