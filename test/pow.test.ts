import { generateKeyPairSync } from 'node:crypto';
import net from 'node:net';
import t from 'tap';
import { Redis } from 'ioredis';
import mysql2, { type RowDataPacket } from 'mysql2/promise';
import { parsePowFlag } from '../src/cli/event-put';
import { makeChallenge, powKeys } from '../src/auth/altcha';
import type { PowDifficulty } from '../src/sale';
import { ADMIN, buy, putEvent, SECRET, testApp, token, type TestApp } from './helpers/app';
import { EASY_POW, fetchChallenge, proof, solve } from './helpers/pow';
import { spawnServer } from './helpers/process';
import { buyRequest, connect, exchange } from './helpers/raw';
import { runCli } from './helpers/run-cli';
import { tempDir, testMysql } from './helpers/services';
import { until } from './helpers/wait';
import { WsClient } from './helpers/ws';
import { requestFrame } from '../src/ws/frames';

/**
 * Proof of work (issue 24, part 2): an event with `pow` admits a buy only
 * with an ALTCHA challenge the server signed for that user and event,
 * solved. Every refusal is 15 (403), decided before admission: nothing
 * reserved, parked or sent to Redis.
 */

const withAltcha = (solution: string): RequestInit => ({ headers: { 'x-altcha': solution } });

/** The sale as Redis holds it, and this process's own view of it (GET /admin/events/{e}). */
async function stats(base: string, event: string): Promise<{ remaining: number; buyers: number; local: { reserved: number; queuedUsers: number }; queue: { parked: number } }> {
  const res = await fetch(`${base}/admin/events/${event}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return (await res.json()) as never;
}

/** How many script calls Redis has run (EVALSHA and EVAL): every buy that reaches Redis is one. */
async function scriptCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) n += Number(m[1]);
  return n;
}

async function powApp(t: Parameters<typeof testApp>[0]): Promise<{ app: TestApp; redis: Redis }> {
  const app = await testApp(t);
  const redis = new Redis(app.redisSocket);
  t.teardown(() => redis.quit());
  return { app, redis };
}

t.test('the definition: pow is validated, shown, kept by the same put, and fixed once the sale has buyers', async (t) => {
  const { app } = await powApp(t);
  for (const [pow, message] of [
    [{}, /^pow\.cost must be a whole number from 1 to 100000/],
    [{ cost: 0 }, /^pow\.cost must be/],
    [{ cost: 5000, algorithm: 'MD5' }, /^pow\.algorithm must be one of PBKDF2\/SHA-256, /],
    [{ cost: 5000, counter: [10, 5] }, /^pow\.counter must be \[min, max\] with min <= max$/],
    [{ cost: 5000, counter: [1, 2, 3] }, /^pow\.counter must be \[min, max\]/],
    [{ cost: 5000, maxNumber: 100 }, /^unknown field "pow\.maxNumber"/],
    ['hard', /^pow must be an object/],
  ] as const) {
    const res = await putEvent(app.base, 'bad', { stock: 5, pow });
    const body = (await res.json()) as { c: number; error: string };
    t.equal(res.status, 400, `${JSON.stringify(pow)}: 400`);
    t.match(body, { c: 9, error: message }, body.error);
  }
  t.equal((await fetch(`${app.base}/events/bad`)).status, 404, 'nothing was made');

  const start = Date.now() - 1000;
  const end = start + 3_600_000;
  const created = await putEvent(app.base, 'p', { stock: 5, start, end, pow: { cost: 5000 } });
  t.equal(created.status, 201);
  const full = { algorithm: 'PBKDF2/SHA-256', cost: 5000, counter: [5000, 10000] };
  t.same(((await created.json()) as { pow: unknown }).pow, full, 'the defaults are filled in: ALTCHA\'s algorithm and counter range');
  t.same(((await (await fetch(`${app.base}/events/p`)).json()) as { pow: unknown }).pow, full, 'the public view shows the difficulty');
  t.notOk('pow' in ((await (await putEvent(app.base, 'plain', { stock: 5 })).json()) as object), 'an event without pow shows none');

  const again = await putEvent(app.base, 'p', { stock: 5, start, end, pow: full });
  t.match([again.status, await again.json()], [200, { result: 'unchanged' }], 'the same definition again (defaults spelled out) is unchanged');
  const easier = await putEvent(app.base, 'p', { stock: 5, start, end, pow: EASY_POW });
  t.match([easier.status, await easier.json()], [200, { result: 'updated', pow: EASY_POW }], 'no buyers yet: the difficulty may be corrected');
  t.equal((await buy(app.base, 'p', 'ada', withAltcha(await proof(app.base, 'p', 'ada')))).c, 0, 'a buyer');
  const harder = await putEvent(app.base, 'p', { stock: 5, start, end, pow: full });
  t.equal(harder.status, 409, 'a sale with buyers: another pow is refused');
  const off = await putEvent(app.base, 'p', { stock: 5, start, end });
  t.equal(off.status, 409, 'and so is none');
  const same = await putEvent(app.base, 'p', { stock: 5, start, end, pow: EASY_POW });
  t.match([same.status, await same.json()], [200, { result: 'unchanged' }], 'the same definition is still accepted');
});

t.test('GET /events/{e}/challenge: authenticated, bound to the caller and the event, expiring at the end', async (t) => {
  const { app } = await powApp(t);
  const end = Date.now() + 3_600_000;
  t.equal((await putEvent(app.base, 'c', { stock: 5, end, pow: EASY_POW })).status, 201);
  t.equal((await putEvent(app.base, 'free', { stock: 5 })).status, 201);
  const anonymous = await fetch(`${app.base}/events/c/challenge`);
  t.same([anonymous.status, await anonymous.json()], [401, { c: 8 }], 'no token: 401');
  t.match(await fetchChallenge(app.base, 'nosuch', 'ada'), { status: 404, body: { c: 7 } }, 'no such event: 404, 7');
  t.match(await fetchChallenge(app.base, 'free', 'ada'), { status: 404, body: { c: 9, error: /asks for no proof of work/ } }, 'an event without pow: 404, 9');
  const res = await fetch(`${app.base}/events/c/challenge`, { headers: { authorization: `Bearer ${token('ada')}` } });
  t.equal(res.headers.get('cache-control'), 'no-store');
  const c = (await res.json()) as { parameters: Record<string, unknown>; signature: string };
  t.match(c, { parameters: { algorithm: 'SHA-256', cost: 1, data: { e: 'c', u: 'ada' }, expiresAt: Math.ceil(end / 1000) }, signature: /^[0-9a-f]{64}$/ });
  t.ok(typeof c.parameters.keySignature === 'string', "deterministic mode: the derived key is signed, so checking a solution costs two HMACs");
});

t.test('HTTP: every refusal is 15 (403) and changes nothing; a valid solution buys, and buys again as 2', async (t) => {
  const { app, redis } = await powApp(t);
  t.equal((await putEvent(app.base, 'h', { stock: 3, pow: EASY_POW })).status, 201);
  t.equal((await putEvent(app.base, 'other', { stock: 3, pow: EASY_POW })).status, 201);
  const ada = await proof(app.base, 'h', 'ada');
  const decoded = JSON.parse(Buffer.from(ada, 'base64').toString()) as { challenge: { parameters: Record<string, unknown>; signature: string }; solution: { counter: number; derivedKey: string } };
  const reencode = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64');
  const keys = powKeys('', SECRET);
  if (keys === undefined) throw new Error('no keys');
  const pow: PowDifficulty = { algorithm: 'SHA-256', cost: 1, counter: [10, 60] };
  const expired = await solve(await makeChallenge(keys, pow, 'h', 'bob', Date.now() - 2_000));
  const foreignKeys = powKeys('another server', '');
  if (foreignKeys === undefined) throw new Error('no keys');
  const unsigned = await solve(await makeChallenge(foreignKeys, pow, 'h', 'bob', Date.now() + 60_000));

  const calls = await scriptCalls(redis);
  const cases: [string, RequestInit][] = [
    ['no x-altcha', {}],
    ['an empty one', withAltcha('')],
    ['not base64 JSON', withAltcha('bm90IGpzb24=')],
    ['garbage', withAltcha('%%%')],
    ['JSON of another shape', withAltcha(reencode({ challenge: 1, solution: 2 }))],
    ['over 2 KiB', withAltcha('A'.repeat(3000))],
    ["ada's solution, for bob", withAltcha(ada)],
    ["ada's solution with bob written in", withAltcha(reencode({ ...decoded, challenge: { ...decoded.challenge, parameters: { ...decoded.challenge.parameters, data: { e: 'h', u: 'bob' } } } }))],
    ['a wrong derived key', withAltcha(reencode({ ...decoded, solution: { ...decoded.solution, derivedKey: 'ab'.repeat(32) } }))],
    ['an easier difficulty written in', withAltcha(reencode({ ...decoded, challenge: { ...decoded.challenge, parameters: { ...decoded.challenge.parameters, cost: 0 } } }))],
    ['a solution for another event', withAltcha(await proof(app.base, 'other', 'bob'))],
    ['an expired challenge (signed by this server)', withAltcha(expired)],
    ['a challenge signed with another secret', withAltcha(unsigned)],
  ];
  for (const [what, init] of cases) {
    const a = await buy(app.base, 'h', 'bob', init);
    t.same([a.status, a.c], [403, 15], `${what}: 403, 15`);
  }
  // The same over the WebSocket.
  const ws = await WsClient.open(app.port, { bearer: token('bob') });
  t.teardown(() => ws.close());
  t.same(await ws.buy('h'), [1, 15], 'WebSocket, no solution: 15');
  t.same(await ws.buyProven('h', undefined, ada), [2, 15], "WebSocket, ada's solution on bob's connection: 15");
  t.same(await ws.buyProven('h', token('bob'), expired), [3, 15], 'WebSocket, an expired one: 15');
  t.equal(await scriptCalls(redis), calls, 'no refused buy reached Redis');
  t.match(await stats(app.base, 'h'), { remaining: 3, buyers: 0, local: { reserved: 0, queuedUsers: 0 }, queue: { parked: 0 } }, 'nothing reserved, parked or sold');

  const won = await buy(app.base, 'h', 'ada', withAltcha(ada));
  t.same([won.status, won.c, won.o], [200, 0, 1], 'ada with her solution: won, order 1');
  const again = await buy(app.base, 'h', 'ada', withAltcha(ada));
  t.same([again.status, again.c, again.o], [200, 2, 1], 'the same solution again: 2 with her order (her limit of one unit is what it is good for)');
  const bob = await proof(app.base, 'h', 'bob');
  t.same((await ws.buyProven('h', undefined, bob)).slice(1), [0, 2], 'bob over the WebSocket with his own: won, order 2');
  t.same((await buy(app.base, 'h', 'cyd', withAltcha(bob))).c, 15, "bob's solution used by cyd: 15");
  t.match(await stats(app.base, 'h'), { remaining: 1, buyers: 2 }, 'two units sold, to the two who solved their own');
  const counts = (await (await fetch(`${app.base}/admin/events/h`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { outcomes: Record<string, number> };
  t.equal(counts.outcomes.challenge_required, cases.length + 4, 'every 15 is counted by name');
});

t.test('limit 2: one solution serves as many buys as the limit allows, then the buyers hash answers (2, 13); over HTTP and the WebSocket', async (t) => {
  const { app, redis } = await powApp(t);
  const res = await fetch(`${app.base}/admin/events/l2`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ stock: 10, limit: 2, start: Date.now() - 1000, end: Date.now() + 3_600_000, pow: EASY_POW }),
  });
  t.equal(res.status, 201);
  const buyQ = async (user: string, q: number, solution?: string): Promise<{ status: number; c: number; o?: number; q?: number; k?: number }> => {
    const r = await fetch(`${app.base}/events/l2/buy?q=${q}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token(user)}`, ...(solution === undefined ? {} : { 'x-altcha': solution }) },
    });
    return { status: r.status, ...((await r.json()) as { c: number }) };
  };
  t.same(await buyQ('ada', 1), { status: 403, c: 15 }, 'no solution: 15, as on a one-unit event');
  const ada = await proof(app.base, 'l2', 'ada');
  t.same(await buyQ('ada', 1, ada), { status: 200, c: 0, o: 1 }, 'the solution buys one unit');
  t.same(await buyQ('ada', 1, ada), { status: 200, c: 0, o: 2 }, 'the same solution buys the second: the limit allows it');
  t.same(await buyQ('ada', 1, ada), { status: 200, c: 2, o: 2 }, 'a third with it: 2, she holds the limit (her last order)');
  t.same(await buyQ('bob', 1, ada), { status: 403, c: 15 }, "ada's solution for bob: 15");
  const bob = await proof(app.base, 'l2', 'bob');
  t.same(await buyQ('bob', 1, bob), { status: 200, c: 0, o: 3 }, 'bob buys one');
  t.same(await buyQ('bob', 2, bob), { status: 200, c: 13, k: 1 }, 'then asks two with the same solution: 13, one more allowed');
  const calls = await scriptCalls(redis);
  t.same(await buyQ('ada', 1, ada), { status: 200, c: 2, o: 2 }, 'ada again: 2 from memory');
  t.equal(await scriptCalls(redis), calls, '(no script call: the prefilter knows her units)');
  const holding = await redis.hget('sk:{l2}:buyers', 'ada');
  t.match(holding, /^2;1,1,;2,1,$/, `the buyers hash holds her 2 units, two orders (${holding})`);

  // The WebSocket frame carries the solution and the map together: [id, event, token | nil, solution, {q}].
  const ws = await WsClient.open(app.port, { bearer: token('cyd') });
  t.teardown(() => ws.close());
  const cyd = await proof(app.base, 'l2', 'cyd');
  const answer = (id: number): Promise<unknown[]> => ws.answerTo(id) as Promise<unknown[]>;
  const send = (id: number, q: number, solution: string): Promise<unknown[]> => {
    const a = answer(id);
    ws.socket.send(requestFrame(id, 'l2', undefined, solution, { q }));
    return a;
  };
  t.same(await send(101, 2, ada), [101, 15], "ada's solution on cyd's connection: 15");
  t.same(await send(102, 2, cyd), [102, 0, 4, 2], 'cyd wins 2 units with hers: [id, 0, order, q]');
  t.same(await send(103, 1, cyd), [103, 2, 4], 'and again: 2, at the limit');
  t.match(await stats(app.base, 'l2'), { remaining: 5, buyers: 3 }, 'ada 2, bob 1, cyd 2: 5 units sold, 5 left');
});

t.test('after the end, a buy hears 4 whatever it carries; an event without pow never reads x-altcha', async (t) => {
  const { app } = await powApp(t);
  const now = Date.now();
  t.equal((await putEvent(app.base, 'soon', { stock: 3, start: now - 1000, end: now + 1500, pow: EASY_POW })).status, 201);
  t.equal((await putEvent(app.base, 'free', { stock: 3 })).status, 201);
  t.same((await buy(app.base, 'free', 'ada', withAltcha('%%%'))).c, 0, 'no pow: a nonsense x-altcha changes nothing');
  t.same((await buy(app.base, 'soon', 'ada')).c, 15, 'open: 15 without a solution');
  await until(async () => (await buy(app.base, 'soon', 'ada')).c === 4, 'the sale ends');
  t.pass('ended: 4, not 15');
});

t.test('a client that hangs up while its solution is being checked: nothing parked, nothing sold, the server goes on', async (t) => {
  const { app, redis } = await powApp(t);
  t.equal((await putEvent(app.base, 'hang', { stock: 100, pow: EASY_POW })).status, 201);
  const users = Array.from({ length: 40 }, (_, i) => `h${i}`);
  const solutions = await Promise.all(users.map((u) => proof(app.base, 'hang', u)));
  const calls = await scriptCalls(redis);
  // Each solution is new to the server, so each check is asynchronous (altcha-lib); the socket is gone before it ends.
  await Promise.all(
    users.map(async (u, i) => {
      const s: net.Socket = await connect(app.port);
      s.on('error', () => undefined);
      s.write(`POST /events/hang/buy HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token(u)}\r\nx-altcha: ${solutions[i]}\r\ncontent-length: 0\r\n\r\n`);
      s.destroy();
      await new Promise((r) => s.once('close', r));
    }),
  );
  await until(async () => (await stats(app.base, 'hang')).queue.parked === 0, 'nothing left parked');
  const after = await stats(app.base, 'hang');
  t.match(after, { local: { reserved: 0, queuedUsers: 0 } }, 'no reservation left behind');
  t.equal(after.remaining + after.buyers, 100, `the sale adds up (${after.buyers} decided before their client left)`);
  t.ok((await scriptCalls(redis)) - calls <= users.length, 'at most one script call per buy');
  // The server still answers, and the same solutions buy.
  const a = await buy(app.base, 'hang', 'h0', withAltcha(solutions[0] as string));
  t.ok(a.c === 0 || a.c === 2, `h0 buys with the same solution afterwards (${a.c})`);
});

t.test('two instances on one Redis, the same secret: a challenge of one is accepted by the other', async (t) => {
  const { app: one } = await powApp(t);
  const two = await testApp(t, { redisUrl: one.redisSocket });
  t.equal((await putEvent(one.base, 'pair', { stock: 5, pow: EASY_POW })).status, 201);
  await until(async () => (await fetch(`${two.base}/events/pair`)).status === 200, 'the second instance knows the event');
  const fromOne = await proof(one.base, 'pair', 'ada');
  const fromTwo = await proof(two.base, 'pair', 'bob');
  t.same((await buy(two.base, 'pair', 'ada', withAltcha(fromOne))).c, 0, "one's challenge buys on two");
  t.same((await buy(one.base, 'pair', 'bob', withAltcha(fromTwo))).c, 0, "two's challenge buys on one");
  const other = await testApp(t, { redisUrl: one.redisSocket, powSecret: 'a secret of its own' });
  await until(async () => (await fetch(`${other.base}/events/pair`)).status === 200, 'a third instance, with another secret, knows the event');
  t.same((await buy(other.base, 'pair', 'cyd', withAltcha(await proof(one.base, 'pair', 'cyd')))).c, 15, 'an instance with another SECKILL_POW_SECRET refuses it: configure one secret everywhere');
});

/** One buy on a connection of its own (the kernel hands each new connection to either worker), with `x-altcha` when given. */
async function rawBuy(port: number, event: string, user: string, solution?: string): Promise<{ status: number; c: number }> {
  const bytes = (await exchange(port, buyRequest(event, token(user), solution === undefined ? '' : `x-altcha: ${solution}\r\n`))).toString('latin1');
  const end = bytes.indexOf('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(bytes)?.[1]), c: (JSON.parse(bytes.slice(end + 4)) as { c: number }).c };
}

t.test('SECKILL_WORKERS=2: a challenge made by either worker buys on either; refusals are 15 on both', async (t) => {
  const s = await spawnServer(t, { SECKILL_DATA_DIR: tempDir(t), SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, MYSQL_URL: 'none', SECKILL_WORKERS: '2' });
  t.equal((await putEvent(s.base, 'w2', { stock: 100, pow: EASY_POW })).status, 201);
  await until(
    async () => (await Promise.all(Array.from({ length: 8 }, () => exchange(s.port, `GET /events/w2 HTTP/1.1\r\nhost: x\r\n\r\n`)))).every((b) => b.toString().startsWith('HTTP/1.1 200')),
    'both workers know the event',
  );
  const users = Array.from({ length: 30 }, (_, i) => `u${i}`);
  // fetch keeps its connections alive: each challenge on a connection of its own instead, so both workers make some.
  const solutions = await Promise.all(
    users.map(async (u) => {
      const bytes = (await exchange(s.port, `GET /events/w2/challenge HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token(u)}\r\n\r\n`)).toString('latin1');
      return solve(JSON.parse(bytes.slice(bytes.indexOf('\r\n\r\n') + 4)) as never);
    }),
  );
  const refused = await Promise.all(users.map((u, i) => rawBuy(s.port, 'w2', u, solutions[(i + 1) % users.length])));
  t.ok(refused.every((a) => a.status === 403 && a.c === 15), "each user with another's solution: 15 on whichever worker");
  t.ok((await Promise.all(users.slice(0, 10).map((u) => rawBuy(s.port, 'w2', u)))).every((a) => a.c === 15), 'none: 15');
  const answers = await Promise.all(users.map((u, i) => rawBuy(s.port, 'w2', u, solutions[i])));
  t.ok(answers.every((a) => a.c === 0), `each with their own: won, whichever worker made the challenge (${answers.map((a) => a.c).join('')})`);
  const ws = await WsClient.open(s.port, { bearer: token('wsuser') });
  t.teardown(() => ws.close());
  t.same((await ws.buy('w2')).slice(1), [15], 'WebSocket without a solution: 15');
  t.same((await ws.buyProven('w2', undefined, await proof(s.base, 'w2', 'wsuser'))).slice(1), [0, 31], 'WebSocket with one: won');
  t.match(await stats(s.base, 'w2'), { remaining: 69, buyers: 31 }, 'exactly the proven buys sold');
});

t.test('MySQL keeps pow: after Redis lost the event, the restore puts it back and buys still need a solution', async (t) => {
  const mysql = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: mysql.url });
  const redis = new Redis(app.redisSocket);
  t.teardown(() => redis.quit());
  t.equal((await putEvent(app.base, 'kept', { stock: 5, pow: EASY_POW })).status, 201);
  const text = JSON.stringify(EASY_POW);
  t.equal(await redis.hget('sk:{kept}:meta', 'pow'), text, 'Redis holds it');
  const pool = await mysql2.createConnection(mysql.url);
  t.teardown(() => pool.end());
  const [[row]] = await pool.query<RowDataPacket[]>('SELECT pow FROM events WHERE id = ?', ['kept']);
  t.equal(row?.pow, text, 'so does the events row');
  t.equal((await buy(app.base, 'kept', 'ada', withAltcha(await proof(app.base, 'kept', 'ada')))).c, 0);
  await redis.flushall();
  // The next buy finds the event gone (the script answers 7): the server restores it from MySQL.
  await until(async () => {
    await buy(app.base, 'kept', 'probe', withAltcha(await proof(app.base, 'kept', 'probe')));
    return (await redis.get('sk:{kept}:stock')) !== null && (await redis.hget('sk:{kept}:meta', 'lease')) === null;
  }, 'restored');
  t.equal(await redis.hget('sk:{kept}:meta', 'pow'), text, 'the restore wrote pow back');
  t.same((await buy(app.base, 'kept', 'bob')).c, 15, 'a buy without a solution: still 15');
  t.same((await buy(app.base, 'kept', 'bob', withAltcha(await proof(app.base, 'kept', 'bob')))).c, 0, 'with one: won');
  t.same((await putEvent(app.base, 'kept', { stock: 5, start: Date.now() - 1000, pow: EASY_POW })).status, 409, 'a sale with buyers: a change is refused');
});

t.test('seckill event put --pow: off, a cost, or key=value pairs; a change keeps it; a bad one is named before any request', async (t) => {
  t.same(parsePowFlag('5000'), { algorithm: 'PBKDF2/SHA-256', cost: 5000, counter: [5000, 10000] });
  t.same(parsePowFlag('cost=1,counter=10-60,algorithm=SHA-256'), EASY_POW);
  t.equal(parsePowFlag('off'), null);
  t.throws(() => parsePowFlag('cost=0'), /^--pow: cost must be a whole number from 1 to 100000/);
  t.throws(() => parsePowFlag('hard'), /^--pow: expected off, a cost/);
  t.throws(() => parsePowFlag('cost=5,counter=9-1'), /^--pow: counter must be \[min, max\] with min <= max/);
  const app = await testApp(t);
  const env = { SECKILL_ADMIN_TOKEN: ADMIN, PORT: String(app.port) };
  const made = await runCli(['event', 'put', 'cli', '--stock', '5', '--end', '+1h', '--pow', 'cost=1,counter=10-60,algorithm=SHA-256'], env);
  t.match([made.code, JSON.parse(made.stdout)], [0, { result: 'created', pow: EASY_POW }], 'created with its pow');
  const more = await runCli(['event', 'put', 'cli', '--stock', '6'], env);
  t.match(JSON.parse(more.stdout), { result: 'updated', stock: 6, pow: EASY_POW }, 'a change of the stock keeps it');
  const off = await runCli(['event', 'put', 'cli', '--pow', 'off'], env);
  t.notOk('pow' in (JSON.parse(off.stdout) as object), '--pow off removes it');
  const bad = await runCli(['event', 'put', 'cli', '--pow', 'cost=lots'], env);
  t.equal(bad.code, 1);
  t.match(bad.last.msg, /^--pow: cost must be a whole number/);
});

t.test('with SECKILL_JWT_PUBLIC_KEY and no SECKILL_POW_SECRET, nothing can sign challenges: an event with pow is refused at its put', async (t) => {
  const { publicKey } = generateKeyPairSync('ed25519');
  const app = await testApp(t, { jwtSecret: '', jwtPublicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
  const res = await putEvent(app.base, 'nokey', { stock: 5, pow: EASY_POW });
  t.same([res.status, await res.json()], [400, { c: 9, error: 'pow needs SECKILL_POW_SECRET (or SECKILL_JWT_SECRET) set on the server, to sign challenges with' }]);
  t.equal((await putEvent(app.base, 'nokey', { stock: 5 })).status, 201, 'without pow it is put');
});
