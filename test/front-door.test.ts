import { createSigner } from 'fast-jwt';
import type net from 'node:net';
import t, { type Test } from 'tap';
import { ADMIN, SECRET, openEvent, testApp, token, type TestApp } from './helpers/app';
import { parseAnswer, rawRequest, readAnswer } from './helpers/contract';
import { connect } from './helpers/raw';

/**
 * The front door, with real clients: where `/` and `/admin` lead, HEAD on
 * every GET route (the same head, no body on the wire), header names in
 * one case, a 401 that says why, and a CORS preflight a page's JSON put
 * passes.
 */

const SHOP = 'https://shop.example.com';
const METRICS = 'front-door-metrics';

async function frontDoor(t: Test): Promise<TestApp> {
  const app = await testApp(t, { corsOrigins: SHOP, metricsToken: METRICS });
  await openEvent(t, app.base, 'spring', 5);
  return app;
}

/** Every header line of one raw answer, as written: [name, value]. */
function headerLines(raw: Buffer): [string, string][] {
  const end = raw.indexOf('\r\n\r\n');
  return raw
    .subarray(0, end)
    .toString()
    .split('\r\n')
    .slice(1)
    .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]);
}

/** Reads until `pred` holds for what came, or fails after `ms`. */
function readUntil(s: net.Socket, pred: (buf: Buffer) => boolean, ms = 5_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`no complete answer within ${ms} ms: ${JSON.stringify(buf.toString())}`)), ms);
    const done = (err?: Error): void => {
      clearTimeout(timer);
      s.off('data', onData);
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (pred(buf)) done();
    };
    s.on('data', onData);
    s.once('close', () => done(new Error(`closed: ${JSON.stringify(buf.toString())}`)));
  });
}

/** One whole answer (by its Content-Length) has come. */
function complete(b: Buffer): boolean {
  const end = b.indexOf('\r\n\r\n');
  const length = /Content-Length: (\d+)/.exec(b.subarray(0, Math.max(0, end)).toString());
  return end >= 0 && length !== null && b.length >= end + 4 + Number(length[1]);
}

/**
 * HEAD, then GET /healthz on the same connection: whatever follows the
 * HEAD's head on the wire must be the second answer, so a body sent after
 * a HEAD's head (which would corrupt the next answer) shows.
 */
async function headOnWire(port: number, path: string, headers: Record<string, string>): Promise<{ head: Buffer; after: Buffer }> {
  const s = await connect(port);
  try {
    s.write(rawRequest('HEAD', path, headers));
    const first = await readUntil(s, (b) => b.includes('\r\n\r\n'));
    s.write(rawRequest('GET', '/healthz'));
    const second = await readUntil(s, complete);
    const split = first.indexOf('\r\n\r\n') + 4;
    // Bytes that came with the head (a body) come before the second answer.
    return { head: first.subarray(0, split), after: Buffer.concat([first.subarray(split), second]) };
  } finally {
    s.destroy();
  }
}

async function get(port: number, path: string, headers: Record<string, string>): Promise<Buffer> {
  const s = await connect(port);
  try {
    const answer = readUntil(s, complete);
    s.write(rawRequest('GET', path, headers));
    return await answer;
  } finally {
    s.destroy();
  }
}

t.test('GET / and GET /admin lead to the dashboard at /admin/', async (t) => {
  const app = await frontDoor(t);
  for (const path of ['/', '/admin']) {
    const res = await fetch(app.base + path, { redirect: 'manual' });
    t.same([res.status, res.headers.get('location')], [302, '/admin/'], `GET ${path}: 302 to /admin/`);
    await res.arrayBuffer();
    const head = await fetch(app.base + path, { method: 'HEAD', redirect: 'manual' });
    t.same([head.status, head.headers.get('location')], [302, '/admin/'], `HEAD ${path} too`);
    const followed = await fetch(`${app.base}${path}#token=${ADMIN}`);
    t.same([followed.status, followed.url, followed.headers.get('content-type')], [200, `${app.base}/admin/`, 'text/html; charset=utf-8'], `a browser following it gets the page`);
    await followed.arrayBuffer();
    const post = await fetch(app.base + path, { method: 'POST', redirect: 'manual' });
    t.same([post.status, post.headers.get('allow')], [405, 'GET, HEAD'], `POST ${path}: 405`);
    await post.arrayBuffer();
  }
  const page = await fetch(`${app.base}/admin/`, { redirect: 'manual' });
  t.equal(page.status, 200, '/admin/ itself is the page, not a redirect');
  await page.arrayBuffer();
});

t.test('HEAD on every GET route: the GET head, Content-Length included, and no body on the wire', async (t) => {
  const app = await frontDoor(t);
  const buyer = { authorization: `Bearer ${token('ada')}` };
  const admin = { authorization: `Bearer ${ADMIN}` };
  const routes: [string, Record<string, string>][] = [
    ['/', {}],
    ['/admin', {}],
    ['/admin/', {}],
    ['/admin/dashboard.js', {}],
    ['/admin/dashboard.css', {}],
    ['/events/spring', {}],
    ['/events/nosuch', {}],
    ['/healthz', {}],
    ['/readyz', {}],
    ['/events/spring/order', buyer],
    ['/admin/events/spring', admin],
    ['/metrics', { authorization: `Bearer ${METRICS}` }],
    ['/metrics', {}],
    ['/no/such/route', {}],
    ['/events/spring/buy', buyer],
  ];
  for (const [path, headers] of routes) {
    const what = `HEAD ${path}${headers.authorization === undefined ? '' : ' (with a token)'}`;
    const { head, after } = await headOnWire(app.port, path, headers);
    t.match(after.toString(), /^HTTP\/1\.1 200 OK\r\n/, `${what}: no body follows the head`);
    const g = parseAnswer(await get(app.port, path, headers));
    const h = parseAnswer(head);
    t.equal(h.status, g.status, `${what}: ${h.status}, as GET`);
    const names = (a: ReturnType<typeof parseAnswer>): string[] => [...a.headers.keys()].filter((n) => n !== 'date').sort();
    t.same(names(h), names(g), `${what}: the same headers`);
    const length = Number(h.headers.get('content-length'));
    if (path === '/metrics' && h.status === 200) t.ok(length > 1000, `${what}: Content-Length of the text (which changes between two scrapes)`);
    // The health answer carries times since the last checks (a digit more or less between the two requests).
    else if (path === '/healthz') t.ok(Math.abs(length - g.body.length) <= 8, `${what}: Content-Length is the GET body's, give or take a changing time (${length}, ${g.body.length})`);
    else t.equal(h.headers.get('content-length'), String(g.body.length), `${what}: Content-Length is the GET body's`);
  }
  // The dashboard's stream: its head, and no stream.
  const { head, after } = await headOnWire(app.port, '/admin/stream', { authorization: `Bearer ${ADMIN}` });
  t.match(head.toString(), /^HTTP\/1\.1 200 OK\r\n[^]*Content-Type: text\/event-stream/, 'HEAD /admin/stream: the stream head');
  t.match(after.toString(), /^HTTP\/1\.1 200 OK\r\n/, 'and no stream after it');
  const pipelined = await connect(app.port);
  t.teardown(() => pipelined.destroy());
  // Three at once on one connection, as a client that pipelines HEADs would send them.
  pipelined.write(Buffer.concat([rawRequest('HEAD', '/events/spring'), rawRequest('HEAD', '/nope'), rawRequest('GET', '/readyz')]));
  const three = await readUntil(pipelined, (b) => /"accepting":true/.test(b.toString()));
  t.equal(three.toString().match(/^HTTP\/1\.1 /gm)?.length, 3, 'pipelined HEADs: three answers, framed');
});

t.test('header names are written in one case: each word capitalized', async (t) => {
  const app = await frontDoor(t);
  const expired = createSigner({ key: SECRET, expiresIn: 1000, clockTimestamp: Date.now() - 60_000 })({ sub: 'ada' });
  const origin = { origin: SHOP };
  const requests: Buffer[] = [
    rawRequest('POST', '/events/spring/buy', { authorization: `Bearer ${token('ada')}`, ...origin }),
    rawRequest('POST', '/events/spring/buy', { authorization: `Bearer ${expired}`, ...origin }),
    rawRequest('POST', '/events/spring/buy', {}),
    rawRequest('GET', '/events/spring', origin),
    rawRequest('GET', '/events/spring/order', { authorization: `Bearer ${token('ada')}` }),
    rawRequest('GET', '/admin/events/spring', { authorization: `Bearer ${ADMIN}` }),
    rawRequest('PUT', '/admin/events/autumn', { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, JSON.stringify({ stock: 1, start: Date.now() + 60_000, end: Date.now() + 120_000 })),
    rawRequest('GET', '/metrics', { authorization: `Bearer ${METRICS}` }),
    rawRequest('GET', '/admin/'),
    rawRequest('GET', '/'),
    rawRequest('HEAD', '/healthz'),
    rawRequest('GET', '/readyz'),
    rawRequest('DELETE', '/events/spring'),
    rawRequest('GET', '/nope'),
    rawRequest('OPTIONS', '/admin/events/spring', { ...origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' }),
  ];
  const seen = new Set<string>();
  // Raw bytes (a client library would lowercase the names), one request per connection.
  for (const request of requests) {
    const s = await connect(app.port);
    s.write(request);
    const raw = await readUntil(s, (b) => b.includes('\r\n\r\n'));
    s.destroy();
    for (const [name] of headerLines(raw)) seen.add(name);
  }
  const odd = [...seen].filter((n) => !/^[A-Z][A-Za-z]*(-[A-Z][A-Za-z]*)*$/.test(n));
  t.same(odd, [], `every header name capitalized: ${[...seen].sort().join(', ')}`);
  t.ok(seen.has('WWW-Authenticate') && seen.has('Access-Control-Allow-Headers') && seen.has('Location') && seen.has('Allow'), 'the sample covers 401, preflight, redirect and 405');
});

t.test('a 401 says why in WWW-Authenticate: expired, bad signature, malformed, …; none without a token', async (t) => {
  const app = await frontDoor(t);
  const past = createSigner({ key: SECRET, expiresIn: 1000, clockTimestamp: Date.now() - 60_000 });
  const later = createSigner({ key: SECRET, notBefore: 3_600_000 });
  const tokens: [string, string | undefined, string][] = [
    ['expired', `Bearer ${past({ sub: 'ada' })}`, 'expired'],
    ['signed with another secret', `Bearer ${createSigner({ key: 'another-secret' })({ sub: 'ada' })}`, 'bad signature'],
    ['not a JWT', 'Bearer not-a-jwt', 'malformed'],
    ['not yet valid', `Bearer ${later({ sub: 'ada' })}`, 'not yet valid'],
    ['sub too long', `Bearer ${token('x'.repeat(200))}`, 'bad sub'],
    ['alg none', `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"ada"}').toString('base64url')}.`, 'bad signature'],
  ];
  const challenge = (why: string): string => `Bearer error="invalid_token", error_description="${why}"`;
  for (const [what, authorization, why] of tokens) {
    const headers = { authorization: authorization! };
    const b = await fetch(`${app.base}/events/spring/buy`, { method: 'POST', headers });
    t.same([b.status, b.headers.get('www-authenticate'), await b.json()], [401, challenge(why), { c: 8 }], `buy, ${what}: ${why}`);
    const o = await fetch(`${app.base}/events/spring/order`, { headers });
    t.same([o.status, o.headers.get('www-authenticate')], [401, challenge(why)], `order, ${what}`);
    await o.arrayBuffer();
  }
  // The WebSocket upgrade, with the token in the query as a browser sends it.
  const s = await connect(app.port);
  t.teardown(() => s.destroy());
  const upgrade = readAnswer(s);
  s.write(
    rawRequest('GET', `/ws?access_token=${past({ sub: 'ada' })}`, {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    }),
  );
  const ws = await upgrade;
  t.same([ws.status, ws.headers.get('www-authenticate')], [401, challenge('expired')], '/ws upgrade, expired');
  for (const [what, headers] of [
    ['no token', {}],
    ['another scheme', { authorization: `Basic ${Buffer.from('ada:pw').toString('base64')}` }],
  ] as const) {
    const b = await fetch(`${app.base}/events/spring/buy`, { method: 'POST', headers });
    t.same([b.status, b.headers.get('www-authenticate')], [401, 'Bearer'], `${what}: the bare challenge (RFC 6750 §3.1: no error code)`);
    await b.arrayBuffer();
  }
  const fromPage = await fetch(`${app.base}/events/spring/buy`, { method: 'POST', headers: { origin: SHOP, authorization: tokens[0]![1]! } });
  t.same(
    [fromPage.headers.get('access-control-allow-origin'), fromPage.headers.get('access-control-expose-headers')],
    [SHOP, 'WWW-Authenticate'],
    'a page on a listed origin may read why',
  );
  await fromPage.arrayBuffer();
});

t.test('CORS: the preflight allows content-type, so a page can PUT JSON to the admin API', async (t) => {
  const app = await frontDoor(t);
  const pre = await fetch(`${app.base}/admin/events/autumn`, {
    method: 'OPTIONS',
    headers: { origin: SHOP, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization, content-type' },
  });
  t.equal(pre.status, 204);
  const allowed = (pre.headers.get('access-control-allow-headers') ?? '').split(',').map((h) => h.trim());
  t.ok(allowed.includes('content-type') && allowed.includes('authorization'), `Access-Control-Allow-Headers: ${allowed.join(', ')}`);
  t.match(pre.headers.get('access-control-allow-methods'), /\bPUT\b/);
  const put = await fetch(`${app.base}/admin/events/autumn`, {
    method: 'PUT',
    headers: { origin: SHOP, authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ stock: 3, start: Date.now() + 60_000, end: Date.now() + 120_000 }),
  });
  t.same([put.status, put.headers.get('access-control-allow-origin')], [201, SHOP], 'the put the preflight let through');
  await put.arrayBuffer();
});
