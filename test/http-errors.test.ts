import { generateKeyPairSync } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import t from 'tap';
import { ADMIN, buy, openEvent, putEvent, SECRET, testApp } from './helpers/app';

async function post(base: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<{ status: number; c: number; allow: string | null }> {
  const res = await fetch(base + path, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
  const { c } = (await res.json()) as { c: number };
  return { status: res.status, c, allow: res.headers.get('allow') };
}

t.test('bad input gets its code and changes nothing', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'ok', 5);
  const now = Date.now();
  t.equal((await putEvent(app.base, 'soon', { stock: 5, start: now + 3_600_000, end: now + 7_200_000 })).status, 201);
  t.equal((await putEvent(app.base, 'over', { stock: 5, start: now - 30_000, end: now - 10_000 })).status, 201);
  const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` });
  const good = createSigner({ key: SECRET })({ sub: 'someone' });

  t.same(await buy(app.base, 'soon', 'u1'), { status: 200, c: 3 }, 'not started');
  t.same(await buy(app.base, 'over', 'u1'), { status: 200, c: 4 }, 'ended');
  t.same(await buy(app.base, 'nope', 'u1'), { status: 404, c: 7 }, 'unknown event');
  t.same(await buy(app.base, 'bad.id!', 'u1'), { status: 404, c: 7 }, 'event id outside the alphabet');

  const unauthorized = { status: 401, c: 8, allow: null };
  t.same(await post(app.base, '/events/ok/buy', {}), unauthorized, 'no token');
  t.same(await post(app.base, '/events/ok/buy', { authorization: good }), unauthorized, 'no Bearer prefix');
  t.same(await post(app.base, '/events/ok/buy', bearer('not.a.jwt')), unauthorized, 'garbage token');
  t.same(await post(app.base, '/events/ok/buy', bearer(createSigner({ key: 'another-secret' })({ sub: 'x' }))), unauthorized, 'signed with a foreign key');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  t.same(
    await post(app.base, '/events/ok/buy', bearer(createSigner({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() })({ sub: 'x' }))),
    unauthorized,
    'RS256 token where HS256 is configured',
  );
  t.same(await post(app.base, '/events/ok/buy', bearer(createSigner({ algorithm: 'none' })({ sub: 'x' }))), unauthorized, 'alg none');
  const expired = createSigner({ key: SECRET, expiresIn: 1000, clockTimestamp: Date.now() - 60_000 })({ sub: 'x' });
  t.same(await post(app.base, '/events/ok/buy', bearer(expired)), unauthorized, 'expired');
  t.same(await post(app.base, '/events/ok/buy', bearer(createSigner({ key: SECRET })({ user: 'x' }))), unauthorized, 'no sub');
  t.same(await post(app.base, '/events/ok/buy', bearer(createSigner({ key: SECRET })({ sub: 42 }))), unauthorized, 'sub not text');
  t.same(await post(app.base, '/events/ok/buy', bearer(createSigner({ key: SECRET })({ sub: 'x'.repeat(129) }))), unauthorized, 'sub too long');

  t.same(await post(app.base, '/events/ok/buy', bearer(good), Buffer.alloc(1025, 1)), { status: 413, c: 9, allow: null }, 'body over 1 KiB');
  const chunked = new ReadableStream({
    start(c) {
      c.enqueue(new Uint8Array(800));
      c.enqueue(new Uint8Array(800));
      c.close();
    },
  });
  const res = await fetch(`${app.base}/events/ok/buy`, { method: 'POST', headers: bearer(good), body: chunked, duplex: 'half' } as RequestInit);
  t.equal(res.status, 413, 'chunked body over 1 KiB');
  t.same(await res.json(), { c: 9 });

  const get = await fetch(`${app.base}/events/ok/buy`, { headers: bearer(good) });
  t.equal(get.status, 405, 'wrong method');
  t.equal(get.headers.get('allow'), 'POST');
  t.same(await get.json(), { c: 9 });
  const nowhere = await fetch(`${app.base}/events/ok/sell`, { method: 'POST', headers: bearer(good) });
  t.equal(nowhere.status, 404, 'unknown route');
  t.same(await nowhere.json(), { c: 9 });

  const k = app.catalog.get('ok')!.keys;
  t.equal(await app.redis.get(k.stock), '5', 'no unit taken');
  t.equal(await app.redis.hlen(k.buyers), 0, 'no buyer recorded');
  t.equal(await app.redis.xlen(k.orders), 0, 'no order streamed');
  for (const id of ['soon', 'over']) t.equal(await app.redis.hlen(app.catalog.get(id)!.keys.buyers), 0, `${id}: no buyer`);

  t.same(await post(app.base, '/events/ok/buy', bearer(good), 'small body is fine'), { status: 200, c: 0, allow: null }, 'a small body is ignored');
});

t.test('admin input is validated and changes nothing when refused', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'live', 3);
  const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const put = async (id: string, body: string, headers: Record<string, string> = admin) => {
    const res = await fetch(`${app.base}/admin/events/${id}`, { method: 'PUT', headers, body });
    return { status: res.status, body: (await res.json()) as { c?: number; error?: string; result?: string } };
  };
  const def = JSON.stringify({ stock: 5, start: Date.now() + 60_000, end: Date.now() + 120_000 });

  t.equal((await put('x', def, { authorization: 'Bearer wrong' })).status, 401, 'wrong admin token');
  t.equal((await put('x', def, {})).status, 401, 'no admin token');
  t.equal((await put('a.b', def)).status, 400, 'bad event id');
  t.equal((await put('x', '{nope')).status, 400, 'not JSON');
  t.match((await put('x', '[]')).body, { c: 9, error: /object/ });
  t.match((await put('x', JSON.stringify({ stock: 0, start: 1, end: 2 }))).body, { error: /stock/ });
  t.match((await put('x', JSON.stringify({ stock: 1.5, start: 1, end: 2 }))).body, { error: /stock/ });
  t.match((await put('x', JSON.stringify({ stock: 1, start: 'yesterday', end: 2 }))).body, { error: /start/ });
  t.match((await put('x', JSON.stringify({ stock: 1, start: Date.now() + 60_000, end: Date.now() + 60_000 }))).body, { error: /after start/ });
  t.match((await put('x', JSON.stringify({ stock: 1, start: 1, end: 2, extra: true }))).body, { error: /unknown field/ });
  t.equal((await put('x', JSON.stringify({ stock: 1, start: 1, end: 2, name: 'x' }) + ' '.repeat(17_000))).status, 413, 'body too large');
  t.equal(await app.redis.exists('sk:{x}:meta'), 0, 'nothing was created');

  const iso = await put('iso', JSON.stringify({ stock: 2, start: '2030-01-01T00:00:00Z', end: '2030-01-02T00:00:00.000+02:00', name: 'iso' }));
  t.equal(iso.status, 201, 'ISO-8601 times are accepted');
  t.equal(await app.redis.hget('sk:{iso}:meta', 'start'), String(Date.parse('2030-01-01T00:00:00Z')));

  t.equal((await buy(app.base, 'live', 'b1')).c, 0);
  const changed = await put('live', JSON.stringify({ stock: 300, start: Date.now() - 1000, end: Date.now() + 60_000 }));
  t.equal(changed.status, 409, 'a sale with buyers cannot be changed');
  t.equal(await app.redis.get('sk:{live}:stock'), '2', 'its stock is untouched');

  const stats = await fetch(`${app.base}/admin/events/live`, { headers: { authorization: `Bearer ${ADMIN}` } });
  t.match(await stats.json(), { event: 'live', stock: 3, remaining: 2, sold: 1, state: 'open' });
  t.equal((await fetch(`${app.base}/admin/events/live`)).status, 401, 'stats need the admin token');
  t.equal((await fetch(`${app.base}/admin/events/none`, { headers: { authorization: `Bearer ${ADMIN}` } })).status, 404);
  t.equal((await fetch(`${app.base}/admin/events/live`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } })).status, 405);
  const health = await fetch(`${app.base}/healthz`);
  const { dependencies, ...live } = (await health.json()) as { dependencies: unknown };
  t.same([health.status, live], [200, { ok: true, redis: true, services: {} }]);
  t.same(Object.keys(dependencies as object), ['redis'], 'MYSQL_URL=none: Redis is the one dependency checked');
  t.match(dependencies, { redis: { state: 'ok', lastOkMs: Number } });
});
