import { unpack } from 'msgpackr';
import t, { type Test } from 'tap';
import { count, putEvent, token } from './helpers/app';
import { requestFrame } from '../src/ws/frames';
import { known, rawRequest, serve, WORKER_COUNTS, type Served } from './helpers/contract';
import { crowd, wins as crowdWins } from './helpers/crowd';
import { connect } from './helpers/raw';
import { testRedis } from './helpers/services';
import { until } from './helpers/wait';
import { WsClient, type Frame } from './helpers/ws';

type Entry = { readonly sent: number } | { readonly answer: number; readonly code: number } | { readonly push: string; readonly code: number };

/**
 * A gateway connection carrying many users (each buy with its own token),
 * keeping one log of what it sent and received, in order.
 */
class Gateway {
  readonly log: Entry[] = [];
  private nextId = 1;

  private constructor(readonly ws: WsClient) {
    ws.socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      const f = unpack(data) as Frame;
      this.log.push(f[0] === 0 && typeof f[1] === 'string' ? { push: f[1], code: f[2] as number } : { answer: f[0], code: f[1] as number });
    });
  }

  static async open(port: number): Promise<Gateway> {
    return new Gateway(await WsClient.open(port));
  }

  buy(event: string, user: string): Promise<Frame> {
    const id = this.nextId++;
    this.log.push({ sent: id });
    return this.ws.buy(event, token(user), id);
  }

  /** Wins answered after this connection heard "sold out" for a buy sent before it; and the buys then undecided. */
  order(event: string): { late: number; undecided: number } {
    const pushAt = this.log.findIndex((e) => 'push' in e && e.push === event && e.code === 1);
    if (pushAt < 0) return { late: 0, undecided: 0 };
    const sentAt = new Map<number, number>();
    this.log.forEach((e, i) => 'sent' in e && sentAt.set(e.sent, i));
    let late = 0;
    let undecided = 0;
    this.log.forEach((e, i) => {
      if (!('answer' in e) || i < pushAt || (sentAt.get(e.answer) ?? i) > pushAt) return;
      undecided++;
      if (e.code === 0) late++;
    });
    return { late, undecided };
  }
}

/** Waits (bounded) until each client has had a push. */
async function pushed(clients: readonly WsClient[], what: string): Promise<void> {
  await until(() => clients.every((c) => c.pushes.length > 0), what);
}

/**
 * Opens /ws on a raw socket and sends `frames` in one TCP write (so the
 * server reads them in one go, before any is decided); resolves with one
 * answer per frame.
 */
async function inOneWrite(port: number, frames: readonly Buffer[]): Promise<Frame[]> {
  const s = await connect(port);
  s.on('error', () => undefined);
  s.write(rawRequest('GET', '/ws', { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' }));
  // A client frame must be masked; a zero key leaves its payload as it is.
  const framed = frames.flatMap((f) => [Buffer.from(f.length < 126 ? [0x82, 0x80 | f.length, 0, 0, 0, 0] : [0x82, 0x80 | 126, f.length >> 8, f.length & 0xff, 0, 0, 0, 0]), f]);
  const answers: Frame[] = [];
  let buf = Buffer.alloc(0);
  let upgraded = false;
  for await (const d of s) {
    buf = Buffer.concat([buf, d as Buffer]);
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) continue;
      upgraded = true;
      buf = buf.subarray(end + 4);
      s.write(Buffer.concat(framed));
    }
    for (;;) {
      const len = (buf[1] ?? 0) & 0x7f;
      const at = len === 126 ? 4 : 2;
      const size = len === 126 ? (buf.length >= 4 ? buf.readUInt16BE(2) : Infinity) : len;
      if (buf.length < 2 || buf.length < at + size) break;
      answers.push(unpack(buf.subarray(at, at + size)) as Frame);
      buf = buf.subarray(at + size);
    }
    if (answers.length >= frames.length) break;
  }
  s.destroy();
  return answers;
}

async function contract(t: Test, s: Served): Promise<void> {
  const p = s.port;
  const now = Date.now();
  t.equal((await putEvent(s.base, 'w', { stock: 20 })).status, 201);
  t.equal((await putEvent(s.base, 'soon', { stock: 1, start: now + 3_600_000, end: now + 7_200_000 })).status, 201);
  t.equal((await putEvent(s.base, 'over', { stock: 1, start: now - 30_000, end: now - 10_000 })).status, 201);
  t.equal((await putEvent(s.base, 'big', { stock: 100_000 })).status, 201);
  for (const e of ['w', 'soon', 'over', 'big']) await known(s, e);

  t.match(await WsClient.open(p, { bearer: 'nope' }).catch((e: unknown) => e), { status: 401 }, 'a bad bearer: 401, no upgrade');
  t.match(await WsClient.open(p, { query: '?access_token=nope' }).catch((e: unknown) => e), { status: 401 }, 'a bad access_token: 401');

  // Connections land on every worker (SO_REUSEPORT): each must hear the push from its own.
  const watchers = await Promise.all(Array.from({ length: 10 * s.workers }, () => WsClient.open(p)));
  t.teardown(() => Promise.all(watchers.map((w) => w.close())));
  for (const w of watchers) w.subscribe('w');
  const unknown = watchers[0] as WsClient;
  unknown.subscribe('none');
  t.same(await unknown.answerTo(0), [0, 7], 'subscribing to an unknown event: [0, 7]');

  const buyers = await Promise.all(Array.from({ length: 30 }, (_, i) => WsClient.open(p, i % 2 === 0 ? { bearer: token(`u${i}`) } : { query: `?access_token=${token(`u${i}`)}` })));
  t.teardown(() => Promise.all(buyers.map((b) => b.close())));
  // Every user clicks three times at once: the repeats follow the first click.
  const answers = await Promise.all(buyers.map((b) => Promise.all([b.buy('w'), b.buy('w'), b.buy('w')])));
  const won = answers.filter(([a]) => a[1] === 0);
  t.equal(won.length, 20, 'exactly the stock won');
  t.same(new Set(won.map(([a]) => a[2])).size, 20, 'each winner its own order number');
  for (const [first, ...repeats] of answers) {
    for (const r of repeats) {
      if (first[1] === 0) t.same(r.slice(1), [2, first[2]], 'a repeat of a win: [id, 2, order]');
      else t.same(r.slice(1), [1], 'a repeat of a loss: sold out');
    }
  }
  await pushed([...watchers, ...buyers], 'every watcher and buyer heard "sold out"');
  t.ok([...watchers, ...buyers].every((c) => c.pushes.length === 1 && c.pushes[0]?.[0] === 'w' && c.pushes[0][1] === 1), 'every watcher and buyer: [0, "w", 1] once');
  const w = answers.findIndex(([a]) => a[1] === 0);
  const loser = buyers[answers.findIndex(([a]) => a[1] !== 0)] as WsClient;
  t.same((await (buyers[w] as WsClient).buy('w')).slice(1), [2, answers[w]?.[0][2]], 'a winner later: 2 and the order');
  t.same((await loser.buy('w')).slice(1), [1], 'later: sold out');
  const late = await WsClient.open(p);
  t.teardown(() => late.close());
  late.subscribe('w');
  await pushed([late], 'the late subscriber heard it');
  t.same(late.pushes, [['w', 1]], 'a late subscriber is told at once');

  // Six protocol errors (7, 8, 9) on one connection: under the ten that close it.
  const anon = await WsClient.open(p);
  t.teardown(() => anon.close());
  t.same((await anon.buy('soon', token('a1'))).slice(1), [3], 'not started');
  t.same((await anon.buy('over', token('a1'))).slice(1), [4], 'ended');
  t.same((await anon.buy('none', token('a1'))).slice(1), [7], 'unknown event');
  t.same((await anon.buy('big')).slice(1), [8], 'no token on an anonymous connection');
  t.same((await anon.buy('big', 'not.a.jwt')).slice(1), [8], 'a forged token');
  const bad = anon.answerTo(0);
  anon.socket.send('text, not MessagePack');
  t.same(await bad, [0, 9], 'a text frame: [0, 9]');
  const short = anon.answerTo(77);
  anon.socket.send(Buffer.from([0x91, 77])); // [77]: no event
  t.same(await short, [77, 9], 'a frame without an event: [id, 9]');
  t.same((await anon.buy('big', token('a1'))).slice(1), [0, 1], 'the connection still buys');

  // 300 buys in one write on one connection: past 64 undecided, busy.
  const floods = await inOneWrite(p, Array.from({ length: 300 }, (_, i) => requestFrame(i + 1, 'big', token(`f${i}`))));
  t.ok(count(floods, (f) => f[1] === 5) > 0, `${count(floods, (f) => f[1] === 5)} over the in-flight limit: [id, 5]`);
  t.ok(floods.every((f) => f[1] === 0 || f[1] === 5), 'the rest won');

  const end = Date.now() + 1_500;
  t.equal((await putEvent(s.base, 'short', { stock: 5, end })).status, 201);
  await known(s, 'short');
  const enders = await Promise.all(Array.from({ length: 4 * s.workers }, () => WsClient.open(p)));
  t.teardown(() => Promise.all(enders.map((c) => c.close())));
  for (const c of enders) c.subscribe('short');
  await pushed(enders, 'every subscriber heard "ended"');
  t.ok(enders.every((c) => c.pushes.length === 1 && c.pushes[0]?.[1] === 4), 'every subscriber: [0, "short", 4] when the window closes');
  t.ok(Date.now() >= end, 'not before');
}

/**
 * One round: gateways on both servers, each carrying many users, buy an
 * event out while HTTP buyers do too. Returns the buys undecided on a
 * connection when it heard "sold out".
 */
async function orderRound(t: Test, a: Served, b: Served, event: string): Promise<number> {
  const STOCK = 120;
  const PER_GATEWAY = 50;
  t.equal((await putEvent(a.base, event, { stock: STOCK })).status, 201);
  await known(a, event);
  await known(b, event);
  const gateways = await Promise.all([a, b].flatMap((s) => Array.from({ length: 4 }, () => Gateway.open(s.port))));
  const final = new Map<string, Frame>();
  const http = crowd([a.base, b.base], event, Array.from({ length: 100 }, (_, i) => `${event}-h${i}`), { concurrency: 10 });
  await Promise.all(
    gateways.map(async (g, gi) => {
      let users = Array.from({ length: PER_GATEWAY }, (_, i) => `${event}-g${gi}-${i}`);
      while (users.length > 0) {
        const pending: Promise<[string, Frame]>[] = [];
        // In bursts of ten a loop turn apart, so several batches of every process are in flight when the stock runs out.
        for (let i = 0; i < users.length; i += 10) {
          for (const u of users.slice(i, i + 10)) pending.push(g.buy(event, u).then((f) => [u, f]));
          await new Promise((r) => setImmediate(r));
        }
        const told = await Promise.all(pending);
        for (const [u, f] of told) if (![5, 6, 10].includes(f[1] as number)) final.set(u, f);
        users = told.filter(([, f]) => [5, 6, 10].includes(f[1] as number)).map(([u]) => u);
      }
    }),
  );
  const overHttp = await http;
  // Every user is new: a final 2 is the win of a click first told to retry (6 or 10 while Redis still ran its batch).
  const wins = [...final.values()].filter((f) => f[1] === 0 || f[1] === 2).length + crowdWins(overHttp).length;
  t.equal(wins, STOCK, `${event}: exactly the stock won`);
  await pushed(gateways.map((g) => g.ws), `${event}: every gateway heard "sold out"`);
  t.ok(gateways.every((g) => g.ws.pushes.length === 1 && g.ws.pushes[0]?.[0] === event && g.ws.pushes[0][1] === 1), `${event}: once each`);
  let undecided = 0;
  for (const [i, g] of gateways.entries()) {
    const { late, undecided: u } = g.order(event);
    t.equal(late, 0, `${event}, gateway ${i} (${i < 4 ? 'a' : 'b'}): no "won" after "sold out" for a buy sent before it`);
    undecided += u;
  }
  await Promise.all(gateways.map((g) => g.ws.close()));
  return undecided;
}

for (const workers of WORKER_COUNTS) {
  t.test(`SECKILL_WORKERS=${workers}: the WebSocket contract`, async (t) => {
    const redis = await testRedis(t);
    const a = await serve(t, workers, { REDIS_URL: redis.socket });
    await t.test('frames, answers, followers, pushes', (t) => contract(t, a));

    await t.test('on one connection, "won" before "sold out", whichever process sold out', async (t) => {
      // A second instance on the same Redis: the sell-out may be another process's, heard by sale news.
      const b = await serve(t, workers, { REDIS_URL: redis.socket });
      let undecided = 0;
      for (let round = 0; round < 4; round++) undecided += await orderRound(t, a, b, `o${round}`);
      t.comment(`buys still undecided on their connection when it heard "sold out": ${undecided} (each answered after the push, none "won")`);
    });
  });
}
