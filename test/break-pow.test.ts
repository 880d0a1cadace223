import { pack } from 'msgpackr';
import t from 'tap';
import { drawVerify } from '../src/cli/draw-verify';
import { ADMIN, buy, putEvent, SECRET, token } from './helpers/app';
import { EASY_POW, fetchChallenge, proof } from './helpers/pow';
import { spawnServer, type ServerProcess } from './helpers/process';
import { buyRequest, connect, exchange } from './helpers/raw';
import { tempDir } from './helpers/services';
import { until } from './helpers/wait';
import { WsClient } from './helpers/ws';
import type { Test } from 'tap';

/**
 * Attacks on proof of work (issue 24 part 2) as a hostile client, on real
 * server processes: malformed solutions of every shape, replays, clients
 * that leave mid-check, a flood of the challenge route, a difficulty
 * changed under a solution, proof of work with a draw. Every refusal is 15
 * and changes nothing; no input crashes the server or delays other buyers.
 */

const withAltcha = (solution: string): RequestInit => ({ headers: { 'x-altcha': solution } });

async function server(t: Test, workers = '1', extra: Record<string, string> = {}): Promise<ServerProcess> {
  return spawnServer(t, { SECKILL_DATA_DIR: tempDir(t), SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, MYSQL_URL: 'none', SECKILL_WORKERS: workers, ...extra });
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

async function floodWhileBuying(t: Test, s: ServerProcess, asker: (i: number) => string, solutions: readonly string[], buyers: readonly string[]): Promise<Record<number, number>> {
  const flood = Array.from({ length: 300 }, (_, i) => fetchChallenge(s.base, 'heavy', asker(i)).catch(() => ({ status: -1, body: null })));
  await new Promise((r) => setTimeout(r, 100));
  const during = await Promise.all(solutions.map((sol, i) => timed(() => buy(s.base, 'easy', buyers[i] as string, withAltcha(sol)))));
  const rest = await timed(() => Promise.all(flood));
  const statuses: Record<number, number> = {};
  for (const x of rest.value) statuses[x.status] = (statuses[x.status] ?? 0) + 1;
  t.comment(`flood answers ${JSON.stringify(statuses)}, the rest of it ${rest.ms.toFixed(0)} ms after the buys`);
  t.ok(during.every((d) => d.value.c === 0), 'the buyers won');
  t.ok(Math.max(...during.map((d) => d.ms)) < 1_000, `a buy with a fresh solution during the flood: ${during.map((d) => d.ms.toFixed(0)).join(', ')} ms (at most 1 s)`);
  return statuses;
}

t.test('the challenge route hammered (each call a key derivation at the event cost): buyers with a fresh solution are not held up', async (t) => {
  const s = await server(t);
  t.equal((await putEvent(s.base, 'heavy', { stock: 10, pow: { cost: 100_000 } })).status, 201);
  t.equal((await putEvent(s.base, 'easy', { stock: 100, pow: EASY_POW })).status, 201);
  const buyers = Array.from({ length: 7 }, (_, i) => `b${i}`);
  const solutions = await Promise.all(buyers.map((u) => proof(s.base, 'easy', u)));
  const one = await timed(() => fetchChallenge(s.base, 'heavy', 'probe'));
  t.equal(one.value.status, 200);
  const quiet = await timed(() => buy(s.base, 'easy', 'b0', withAltcha(solutions[0] as string)));
  t.equal(quiet.value.c, 0, `a buy with a fresh solution, quiet server: ${quiet.ms.toFixed(0)} ms (one heavy challenge: ${one.ms.toFixed(0)} ms)`);
  // One user asks for 300 challenges at once (SECKILL_USER_RATE is off by default): one at a time is made, the rest hear 5.
  const one300 = await floodWhileBuying(t, s, () => 'mallory', solutions.slice(1, 4), buyers.slice(1, 4));
  t.ok((one300[200] ?? 0) <= 10 && (one300[200] ?? 0) + (one300[429] ?? 0) === 300, `one user's flood: one challenge at a time made, the others 429 at once (${JSON.stringify(one300)})`);
  // 300 accounts at once: a few derive at a time, the rest wait their turn; the buyers' checks still have threads.
  const many = await floodWhileBuying(t, s, (i) => `m${i}`, solutions.slice(4), buyers.slice(4));
  t.same(many, { 200: 300 }, 'many accounts: every challenge made, in turn');
  const c = await fetchChallenge(s.base, 'heavy', 'mallory');
  t.equal(c.status, 200, 'a user whose challenge is made may ask again');
});

/** How much the sale moved, as the admin view says (this process). */
async function sale(base: string, event: string): Promise<{ remaining: number; buyers: number; queue: { parked: number }; local: { reserved: number } }> {
  return (await (await fetch(`${base}/admin/events/${event}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as never;
}

t.test('hostile payloads: signed challenges with solutions of every wrong shape, huge headers, junk WebSocket fourth elements: 15 or 9, nothing changes, the server goes on', async (t) => {
  const s = await server(t);
  t.equal((await putEvent(s.base, 'h', { stock: 5, pow: EASY_POW })).status, 201);
  const good = await proof(s.base, 'h', 'bob');
  const decoded = JSON.parse(Buffer.from(good, 'base64').toString()) as { challenge: unknown; solution: { counter: number; derivedKey: string } };
  const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64');
  const withSolution = (solution: unknown): string => enc({ challenge: decoded.challenge, solution });
  const { counter, derivedKey } = decoded.solution;
  const bad: [string, string][] = [
    ['counter as text', withSolution({ counter: String(counter), derivedKey })],
    ['counter -1', withSolution({ counter: -1, derivedKey: 'ab'.repeat(32) })],
    ['counter 2^40', withSolution({ counter: 2 ** 40, derivedKey: 'ab'.repeat(32) })],
    ['counter 1.5', withSolution({ counter: 1.5, derivedKey: 'ab'.repeat(32) })],
    ['the key in capitals', withSolution({ counter, derivedKey: derivedKey.toUpperCase() })],
    ['the key with a byte more', withSolution({ counter, derivedKey: `${derivedKey}00` })],
    ['an odd key', withSolution({ counter, derivedKey: derivedKey.slice(1) })],
    ['an empty key', withSolution({ counter, derivedKey: '' })],
    ['a key of numbers', withSolution({ counter, derivedKey: 12345 })],
    ['no solution', enc({ challenge: decoded.challenge })],
    ['a solution array', withSolution([counter, derivedKey])],
    ['JSON null', enc(null)],
    ['JSON array', enc([decoded.challenge, decoded.solution])],
    ['a signature in capitals', enc({ ...decoded, challenge: { ...(decoded.challenge as object), signature: (decoded.challenge as { signature: string }).signature.toUpperCase() } })],
    ['deep nesting', Buffer.from(`${'['.repeat(700)}${']'.repeat(700)}`).toString('base64').slice(0, 2000)],
    ['URL-safe base64 noise', '-_-_'.repeat(400)],
    ['latin1 bytes', 'ÿþ\u00e9'.repeat(100)],
  ];
  for (const [what, payload] of bad) {
    const a = await buy(s.base, 'h', 'bob', withAltcha(payload));
    t.same([a.status, a.c], [403, 15], `${what}: 403, 15`);
  }
  // A header of 20 KB: refused by uWS or by the check, never a crash.
  const huge = await fetch(`${s.base}/events/h/buy`, { method: 'POST', headers: { authorization: `Bearer ${token('bob')}`, 'x-altcha': 'A'.repeat(20_000) } }).then(
    (r) => r.status,
    () => -1,
  );
  t.ok([403, 431, 400, -1].includes(huge), `a 20 KB x-altcha: ${huge}`);
  // WebSocket frames whose fourth element is not a payload.
  const ws = await WsClient.open(s.port, { bearer: token('bob') });
  t.teardown(() => ws.close());
  const frames: [string, unknown[], number[]][] = [
    ['a number', [11, 'h', null, 42], [9]],
    ['an array', [12, 'h', null, [good]], [9]],
    ['a map', [13, 'h', null, { payload: good }], [9]],
    ['bytes', [14, 'h', null, Buffer.from(good)], [9]],
    ['nil', [15, 'h', null, null], [9]],
    ['followed by a fifth element', [16, 'h', null, 'x', 'more'], [9]],
    ['3,000 characters', [17, 'h', null, 'A'.repeat(3_000)], [15]],
    ['the token a number', [18, 'h', 7, good], [9]],
    ['an empty payload', [19, 'h', null, ''], [15]],
  ];
  for (const [what, frame, want] of frames) {
    const answer = ws.answerTo(frame[0] as number);
    ws.socket.send(pack(frame));
    const f = await Promise.race([answer, ws.closed.then(() => [0, -1] as const)]);
    t.ok(want.includes(f[1] as number), `WebSocket, a fourth element that is ${what}: ${f[1]}`);
  }
  const tooBig = await WsClient.open(s.port, { bearer: token('bob') });
  tooBig.socket.send(pack([20, 'h', null, 'A'.repeat(5_000)]));
  t.equal((await tooBig.closed).code, 1009, 'a frame over 4 KiB closes its connection (1009)');
  t.match(await sale(s.base, 'h'), { remaining: 5, buyers: 0, queue: { parked: 0 }, local: { reserved: 0 } }, 'nothing sold, parked or reserved');
  t.same((await ws.buyProven('h', undefined, good)).slice(1), [0, 1], 'the real solution still buys: no attempt spoiled it');
  t.same((await buy(s.base, 'h', 'bob', withAltcha(good))).c, 2, 'and again over HTTP: 2');
});

t.test('one solution replayed at once on two workers, over many connections: one unit, every answer the same order', async (t) => {
  const s = await server(t, '2');
  t.equal((await putEvent(s.base, 'r', { stock: 50, pow: EASY_POW })).status, 201);
  await until(
    async () => (await Promise.all(Array.from({ length: 8 }, () => exchange(s.port, 'GET /events/r HTTP/1.1\r\nhost: x\r\n\r\n')))).every((b) => b.toString().startsWith('HTTP/1.1 200')),
    'both workers know the event',
  );
  const sol = await proof(s.base, 'r', 'ada');
  const answers = await Promise.all(
    Array.from({ length: 60 }, async () => {
      const bytes = (await exchange(s.port, buyRequest('r', token('ada'), `x-altcha: ${sol}\r\n`))).toString('latin1');
      return JSON.parse(bytes.slice(bytes.indexOf('\r\n\r\n') + 4)) as { c: number; o?: number };
    }),
  );
  const by: Record<number, number> = {};
  for (const a of answers) by[a.c] = (by[a.c] ?? 0) + 1;
  t.ok(answers.every((a) => (a.c === 0 || a.c === 2) && a.o === 1), `every replay: won or already bought, order 1 (${JSON.stringify(by)})`);
  t.ok((by[0] ?? 0) >= 1, 'one of them won');
  t.match(await sale(s.base, 'r'), { remaining: 49, buyers: 1 }, 'one unit sold');
  const stolen = await Promise.all(Array.from({ length: 10 }, (_, i) => buy(s.base, 'r', `thief${i}`, withAltcha(sol))));
  t.ok(stolen.every((a) => a.c === 15), "ada's solution in others' hands: 15");
});

t.test('two workers: clients that hang up (HTTP and WebSocket) while their solution is checked leave nothing parked or reserved', async (t) => {
  const s = await server(t, '2');
  t.equal((await putEvent(s.base, 'g', { stock: 200, pow: EASY_POW })).status, 201);
  await until(
    async () => (await Promise.all(Array.from({ length: 8 }, () => exchange(s.port, 'GET /events/g HTTP/1.1\r\nhost: x\r\n\r\n')))).every((b) => b.toString().startsWith('HTTP/1.1 200')),
    'both workers know the event',
  );
  const users = Array.from({ length: 60 }, (_, i) => `g${i}`);
  const sols = await Promise.all(users.map((u) => proof(s.base, 'g', u)));
  await Promise.all(
    users.slice(0, 30).map(async (u, i) => {
      const sock = await connect(s.port);
      sock.on('error', () => undefined);
      sock.write(buyRequest('g', token(u), `x-altcha: ${sols[i]}\r\n`));
      sock.destroy();
    }),
  );
  await Promise.all(
    users.slice(30).map(async (u, i) => {
      const ws = await WsClient.open(s.port, { bearer: token(u) });
      void ws.buyProven('g', undefined, sols[30 + i] as string);
      ws.socket.terminate();
    }),
  );
  // Every worker's view: nothing parked or reserved once the dust settles (each worker answers some of these).
  await until(async () => {
    const views = await Promise.all(Array.from({ length: 8 }, () => sale(s.base, 'g')));
    return views.every((v) => v.queue.parked === 0 && v.local.reserved === 0);
  }, 'nothing parked or reserved on either worker', 10_000, 50);
  const v = await sale(s.base, 'g');
  t.equal(v.remaining + v.buyers, 200, `the sale adds up (${v.buyers} decided before their client left)`);
  const again = await Promise.all(users.map((u, i) => buy(s.base, 'g', u, withAltcha(sols[i] as string))));
  t.ok(again.every((a) => a.c === 0 || a.c === 2), 'each buys with the same solution afterwards (0, or 2 when decided before it left)');
  t.match(await sale(s.base, 'g'), { remaining: 140, buyers: 60 });
});

t.test("the difficulty corrected before any buyer: a solution of the old one is refused, even remembered; of the new one buys", async (t) => {
  const s = await server(t);
  const start = Date.now() + 60_000;
  t.equal((await putEvent(s.base, 'd', { stock: 5, start, pow: EASY_POW })).status, 201);
  const old = await proof(s.base, 'd', 'ada');
  t.same((await buy(s.base, 'd', 'ada', withAltcha(old))).c, 3, 'before the start: 3 (the solution checked, and remembered)');
  const cost2 = { ...EASY_POW, cost: 2 };
  t.equal((await putEvent(s.base, 'd', { stock: 5, start: Date.now() - 1_000, pow: cost2 })).status, 200, 'opened now, another cost');
  t.same((await buy(s.base, 'd', 'ada', withAltcha(old))).c, 15, 'the old cost: 15');
  const fresh = await proof(s.base, 'd', 'ada');
  t.same((await buy(s.base, 'd', 'ada', withAltcha(fresh))).c, 0, 'a challenge of the new cost: won');

  // Only the counter range corrected (the one part of the difficulty a challenge does not carry in its own parameters).
  t.equal((await putEvent(s.base, 'r', { stock: 5, start, pow: EASY_POW })).status, 201);
  const before = await proof(s.base, 'r', 'bob');
  t.same((await buy(s.base, 'r', 'bob', withAltcha(before))).c, 3, 'before the start: 3 (checked and remembered)');
  t.equal((await putEvent(s.base, 'r', { stock: 5, start: Date.now() - 1_000, pow: { ...EASY_POW, counter: [100, 200] } })).status, 200, 'opened now, another counter range');
  t.same((await buy(s.base, 'r', 'bob', withAltcha(before))).c, 15, 'a challenge of the old range: 15, even remembered');
  t.same((await buy(s.base, 'r', 'bob', withAltcha(await proof(s.base, 'r', 'bob')))).c, 0, 'one of the new range: won');
});

t.test('proof of work with a draw: only proven buys enter; the draw verifies', async (t) => {
  const s = await server(t, '2');
  const start = Date.now() + 2_000;
  const res = await fetch(`${s.base}/admin/events/pd`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ stock: 5, start, end: start + 3_600_000, drawMs: 1_000, pow: EASY_POW }),
  });
  t.equal(res.status, 201);
  const users = Array.from({ length: 20 }, (_, i) => `p${i}`);
  const sols = await Promise.all(users.map((u) => proof(s.base, 'pd', u)));
  const wait = start + 20 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const [proven, bare, stolen] = await Promise.all([
    Promise.all(users.map((u, i) => buy(s.base, 'pd', u, withAltcha(sols[i] as string)))),
    Promise.all(Array.from({ length: 10 }, (_, i) => buy(s.base, 'pd', `bare${i}`))),
    Promise.all(Array.from({ length: 10 }, (_, i) => buy(s.base, 'pd', `thief${i}`, withAltcha(sols[i] as string)))),
  ]);
  t.ok([...bare, ...stolen].every((a) => a.c === 15), 'without their own solution: 15, at once');
  t.same(proven.filter((a) => a.c === 0).length, 5, 'five proven entrants won');
  t.ok(proven.every((a) => a.c === 0 || a.c === 1), 'the others: sold out');
  const view = (await (await fetch(`${s.base}/events/pd`)).json()) as { entrants: number };
  t.equal(view.entrants, 20, 'only the proven users entered');
  const v = await drawVerify(s.base, 'pd');
  t.ok(v.ok, v.lines.join('\n'));
});
