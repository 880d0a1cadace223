import net from 'node:net';
import t, { type Test } from 'tap';
import { ADMIN, count, putEvent, SECRET, token } from './helpers/app';
import { cli, spawnServer, type ServerProcess } from './helpers/process';
import { buyRequest, exchangeOn } from './helpers/raw';
import { tempDir } from './helpers/services';
import { until } from './helpers/wait';
import { WsClient } from './helpers/ws';

/** One buy's answer, with the Retry-After header it came with. */
interface Answer {
  readonly status: number;
  readonly c: number;
  readonly retryAfter: string | null;
}

/** A buy over fetch, with an X-Forwarded-For when given. */
async function fetchBuy(base: string, event: string, user: string, xff?: string): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${token(user)}`, ...(xff === undefined ? {} : { 'x-forwarded-for': xff }) };
  const res = await fetch(`${base}/events/${event}/buy`, { method: 'POST', headers });
  const body = (await res.json()) as { c: number };
  return { status: res.status, c: body.c, retryAfter: res.headers.get('retry-after') };
}

/**
 * A buy on a connection of its own from `localAddress` (any of 127.0.0.0/8
 * reaches the server, and is its peer), with one X-Forwarded-For line per
 * entry of `xff`: fetch cannot send either.
 */
async function rawBuy(port: number, event: string, user: string, xff: readonly string[] = [], localAddress = '127.0.0.1'): Promise<Answer> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.once('error', reject);
  });
  const lines = xff.map((v) => `X-Forwarded-For: ${v}\r\n`).join('');
  const bytes = (await exchangeOn(socket, buyRequest(event, token(user), lines))).toString('latin1');
  const end = bytes.indexOf('\r\n\r\n');
  const head = bytes.slice(0, end);
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]),
    c: (JSON.parse(bytes.slice(end + 4)) as { c: number }).c,
    retryAfter: /\r\nretry-after: *(\S+)/i.exec(head)?.[1] ?? null,
  };
}

/** The sale as Redis holds it (GET /admin/events/{e}). */
async function sale(base: string, event: string): Promise<{ remaining: number; buyers: number }> {
  const res = await fetch(`${base}/admin/events/${event}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return (await res.json()) as { remaining: number; buyers: number };
}

/**
 * How many buys one address may have had allowed by a process holding it
 * to `perSecond`, over a burst that took `ms` and started a window of its
 * own (nothing counted for a second before it): a window lasts 1 s from
 * its first request, so the burst spans 1 + floor(ms / 1000) of them.
 */
const allowedAtMost = (perSecond: number, ms: number): number => perSecond * (1 + Math.floor(ms / 1000));

/** No event says that a limiter's one-second window has turned: the next burst must start a window of its own. */
const windowTurns = (): Promise<void> => new Promise((r) => setTimeout(r, 1_100));

const server = (t: Test, env: Record<string, string>): Promise<ServerProcess> =>
  spawnServer(t, { SECKILL_DATA_DIR: tempDir(t), SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, MYSQL_URL: 'none', ...env });

t.test('SECKILL_WORKERS=1, no trusted proxy: one budget per peer whatever X-Forwarded-For says; over it, 5 with Retry-After and the sale untouched', async (t) => {
  const rate = 5;
  const s = await server(t, { SECKILL_WORKERS: '1', SECKILL_IP_RATE: String(rate) });
  t.equal((await putEvent(s.base, 'ip', { stock: 100 })).status, 201);
  const ws = await WsClient.open(s.port, { headers: { 'x-forwarded-for': '198.51.100.1' } });
  t.teardown(() => ws.close());

  // Every request comes from 127.0.0.1; each claims another address, over HTTP and over the WebSocket.
  const started = Date.now();
  const [overHttp, overWs] = await Promise.all([
    Promise.all(Array.from({ length: 30 }, (_, i) => fetchBuy(s.base, 'ip', `h${i}`, `203.0.113.${i + 1}`))),
    Promise.all(Array.from({ length: 10 }, (_, i) => ws.buy('ip', token(`w${i}`)))),
  ]);
  const took = Date.now() - started;
  const won = count(overHttp, (a) => a.c === 0) + count(overWs, (f) => f[1] === 0);
  const busy = overHttp.filter((a) => a.c === 5);
  t.ok(won >= rate && won <= allowedAtMost(rate, took), `one budget for the 40 buys: ${won} won (${rate} a second, ${took} ms)`);
  t.equal(count(overHttp, (a) => a.c === 0 || a.c === 5) + count(overWs, (f) => f[1] === 0 || f[1] === 5), 40, 'every other buy got 5');
  t.ok(busy.length > 0 && busy.every((a) => a.status === 429 && a.retryAfter === '1'), `over HTTP as 429 with Retry-After: 1 (${busy.length})`);

  const after = await sale(s.base, 'ip');
  t.same(after, { ...after, remaining: 100 - won, buyers: won }, 'only the allowed buys touched the sale');
  const refusedUser = `h${overHttp.findIndex((a) => a.c === 5)}`;
  const order = await fetch(`${s.base}/events/ip/order`, { headers: { authorization: `Bearer ${token(refusedUser)}` } });
  t.equal(order.status, 404, `a refused user (${refusedUser}) has no order`);
  await order.body?.cancel();
});

t.test('SECKILL_WORKERS=1 behind a trusted proxy: a budget per forwarded address; an untrusted peer and the client\'s own entries are not believed', async (t) => {
  const rate = 5;
  const s = await server(t, { SECKILL_WORKERS: '1', SECKILL_IP_RATE: String(rate), SECKILL_TRUSTED_PROXIES: '127.0.0.1' });
  t.equal((await putEvent(s.base, 'tp', { stock: 500 })).status, 201);
  const wsA = await WsClient.open(s.port, { headers: { 'x-forwarded-for': '198.51.100.1' } });
  const wsB = await WsClient.open(s.port, { headers: { 'x-forwarded-for': '198.51.100.2' } });
  // From 127.0.0.2, which is no trusted proxy: its header is the client's word.
  const wsSpoof = await WsClient.open(s.port, { headers: { 'x-forwarded-for': '198.51.100.3' }, localAddress: '127.0.0.2' });
  t.teardown(() => Promise.all([wsA.close(), wsB.close(), wsSpoof.close()]));

  const started = Date.now();
  const [distinct, sameClient, twoLines, untrusted, overA, overB, overSpoof] = await Promise.all([
    Promise.all(Array.from({ length: 30 }, (_, i) => fetchBuy(s.base, 'tp', `d${i}`, `192.0.2.${i + 1}`))),
    // The client wrote an address of its choosing; the proxy appended the one it saw.
    Promise.all(Array.from({ length: 12 }, (_, i) => fetchBuy(s.base, 'tp', `c${i}`, `6.6.6.${i + 1}, 203.0.113.7`))),
    // HAProxy's `option forwardfor` adds a line after the client's own.
    Promise.all(Array.from({ length: 12 }, (_, i) => rawBuy(s.port, 'tp', `l${i}`, [`6.6.7.${i + 1}`, '203.0.113.8']))),
    Promise.all(Array.from({ length: 12 }, (_, i) => rawBuy(s.port, 'tp', `u${i}`, [`6.6.8.${i + 1}`], '127.0.0.2'))),
    Promise.all(Array.from({ length: 8 }, (_, i) => wsA.buy('tp', token(`a${i}`)))),
    Promise.all(Array.from({ length: 8 }, (_, i) => wsB.buy('tp', token(`b${i}`)))),
    Promise.all(Array.from({ length: 8 }, (_, i) => wsSpoof.buy('tp', token(`s${i}`)))),
  ]);
  const took = Date.now() - started;
  const most = allowedAtMost(rate, took);
  t.equal(count(distinct, (a) => a.c === 0), 30, '30 forwarded addresses, one buy each: all allowed');
  const wonHttp = (answers: Answer[]): number => count(answers, (a) => a.c === 0);
  const wonWs = (frames: Awaited<ReturnType<WsClient['buy']>>[]): number => count(frames, (f) => f[1] === 0);
  for (const [what, won] of [
    ['one client, whatever it put left of its proxy', wonHttp(sameClient)],
    ['one client, its own X-Forwarded-For line before the proxy\'s', wonHttp(twoLines)],
    ['an untrusted peer (127.0.0.2) claiming 12 addresses, HTTP and WebSocket', wonHttp(untrusted) + wonWs(overSpoof)],
    ['a WebSocket upgraded for 198.51.100.1', wonWs(overA)],
    ['a WebSocket upgraded for 198.51.100.2', wonWs(overB)],
  ] as const) {
    t.ok(won >= rate && won <= most, `${what}: one budget, ${won} allowed (${rate} a second, ${took} ms)`);
  }
  t.ok([...sameClient, ...twoLines, ...untrusted].every((a) => a.c === 0 || (a.c === 5 && a.status === 429 && a.retryAfter === '1')), 'the rest: 5, 429, Retry-After: 1');
  const won = wonHttp(distinct) + wonHttp(sameClient) + wonHttp(twoLines) + wonHttp(untrusted) + wonWs(overA) + wonWs(overB) + wonWs(overSpoof);
  const after = await sale(s.base, 'tp');
  t.same(after, { ...after, remaining: 500 - won, buyers: won }, 'only the allowed buys touched the sale');
});

t.test('SECKILL_IP_RATE=0 (the default): no limit, and X-Forwarded-For is not looked at', async (t) => {
  const s = await server(t, { SECKILL_WORKERS: '1', SECKILL_TRUSTED_PROXIES: '127.0.0.1', SECKILL_USER_RATE: '0' });
  t.equal((await putEvent(s.base, 'off', { stock: 100 })).status, 201);
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => fetchBuy(s.base, 'off', `o${i}`, '203.0.113.7')));
  t.equal(count(answers, (a) => a.c === 0), 40, '40 buys from one forwarded address in a burst: all won');
  const garbage = await rawBuy(s.port, 'off', 'g', ['x'.repeat(2_000), 'not, an, address']);
  t.equal(garbage.c, 0, 'a nonsense header changes nothing');
});

t.test('SECKILL_WORKERS=2: each worker holds an address to its share, ceil(rate / 2); behind a trusted proxy, a budget per forwarded address', async (t) => {
  const rate = 4;
  const share = Math.ceil(rate / 2);
  const s = await server(t, { SECKILL_WORKERS: '2', SECKILL_IP_RATE: String(rate), SECKILL_TRUSTED_PROXIES: '127.0.0.1' });
  t.equal((await putEvent(s.base, 'w2', { stock: 500 })).status, 201);
  // Each probe is a new connection, so the kernel may hand it to either worker; from an address of its own.
  await until(async () => (await rawBuy(s.port, 'w2', `probe`, ['192.0.2.200'])).c === 0, 'a worker knows the event');
  await until(
    async () => (await Promise.all(Array.from({ length: 8 }, (_, i) => rawBuy(s.port, 'w2', 'probe', [`192.0.2.${201 + i}`])))).every((a) => a.c === 2),
    'both workers know the event',
  );
  await windowTurns();

  // One connection per buy: the kernel spreads them over both workers, as it does a real client's.
  const started = Date.now();
  const [spoofed, oneClient, distinct] = await Promise.all([
    Promise.all(Array.from({ length: 40 }, (_, i) => rawBuy(s.port, 'w2', `s${i}`, [`6.6.6.${i + 1}`], '127.0.0.2'))),
    Promise.all(Array.from({ length: 40 }, (_, i) => rawBuy(s.port, 'w2', `c${i}`, [`6.6.7.${i + 1}, 203.0.113.7`]))),
    Promise.all(Array.from({ length: 40 }, (_, i) => rawBuy(s.port, 'w2', `d${i}`, [`192.0.2.${i + 1}`]))),
  ]);
  const took = Date.now() - started;
  const most = 2 * allowedAtMost(share, took);
  for (const [what, answers] of [
    ['an untrusted peer (127.0.0.2) claiming 40 addresses', spoofed],
    ['one client behind the trusted proxy', oneClient],
  ] as const) {
    const won = count(answers, (a) => a.c === 0);
    t.ok(won >= share && won <= most, `${what}: ${won} allowed over both workers (${share} each a second, ${took} ms)`);
    t.ok(answers.every((a) => a.c === 0 || (a.c === 5 && a.status === 429 && a.retryAfter === '1')), 'the rest: 5, 429, Retry-After: 1');
  }
  t.equal(count(distinct, (a) => a.c === 0), 40, '40 forwarded addresses, one buy each: all allowed');
  const won = count([...spoofed, ...oneClient, ...distinct], (a) => a.c === 0) + 1;
  const after = await sale(s.base, 'w2');
  t.same(after, { ...after, remaining: 500 - won, buyers: won }, 'only the allowed buys (and the probe) touched the sale');
});

t.test('a bad SECKILL_TRUSTED_PROXIES stops the start, naming the variable', async (t) => {
  const { code, out } = await cli(['serve'], { SECKILL_DATA_DIR: tempDir(t), SECKILL_JWT_SECRET: SECRET, MYSQL_URL: 'none', SECKILL_IP_RATE: '5', SECKILL_TRUSTED_PROXIES: '10.0.0.0/33' });
  t.equal(code, 1);
  t.match(out, /SECKILL_TRUSTED_PROXIES: \\?"10\.0\.0\.0\/33\\?" is not an address, a CIDR/);
});
