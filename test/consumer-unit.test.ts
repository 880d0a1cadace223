import { EventEmitter } from 'node:events';
import { ReplyError } from 'ioredis';
import t from 'tap';
import { Consumer } from '../src/admission/consumer';
import type { Ticket, TicketSink } from '../src/admission/ticket';
import { TicketRing } from '../src/admission/ticket-ring';
import { TokenBucket } from '../src/admission/token-bucket';
import { Stage } from '../src/events/answer-counts';
import { SaleEvent } from '../src/events/sale-event';
import { log } from '../src/log';
import { Outcome } from '../src/outcome';
import type { RedisClient } from '../src/redis/scripts';

/** In process, pure logic: the token bucket, the ticket ring, and the consumer against a scripted Redis double. */

const HOUR = 3_600_000;
// The failures these tests script are logged as warnings: not in the test's output.
log.level = 'silent';

t.test('token bucket: starts full, refills at its rate, never past its burst; gives back what was not used', async (t) => {
  const b = new TokenBucket(1_000, 10, 0);
  t.equal(b.take(25, 0), 10, 'the burst at once');
  t.equal(b.take(1, 0), 0, 'then nothing');
  t.equal(b.msUntilNext(0), 1, 'one token a millisecond at 1,000/s');
  t.equal(b.take(25, 5), 5, '5 ms later: 5 tokens');
  t.equal(b.take(25, 1_000), 10, 'a second later: the burst, not 995');
  b.giveBack(3);
  t.equal(b.take(25, 1_000), 3, 'given back, taken again');
  t.equal(b.take(1, 999), 0, 'a clock that goes back adds nothing');
});

interface T1 extends Ticket {
  id: number;
  gone?: boolean;
}

function event(stock: number): SaleEvent {
  return new SaleEvent('e', { stock, start: Date.now() - 1_000, end: Date.now() + HOUR, name: '' }, stock);
}

function ticket(e: SaleEvent, id: number, deadline = Date.now() + 60_000): T1 {
  const x: T1 = { event: e, user: `u${id}`, deadline, id, wanted: () => x.gone !== true };
  return x;
}

t.test('ticket ring: bounded, first in first out, wraps around', async (t) => {
  const e = event(1);
  const r = new TicketRing<T1>(3);
  for (const i of [1, 2, 3]) r.push(ticket(e, i));
  t.ok(r.full);
  t.equal(r.shift()?.id, 1);
  r.push(ticket(e, 4));
  t.same([r.shift()?.id, r.shift()?.id, r.peek()?.id, r.size], [2, 3, 4, 1], 'in arrival order across the wrap');
  t.equal(r.shift()?.id, 4);
  t.equal(r.shift(), undefined, 'empty');
});

/** What the sink was told, in order. */
class Recorded implements TicketSink<T1> {
  readonly settled: [number, Outcome, number, Stage][] = [];
  readonly early: [number, Outcome][] = [];
  readonly dropped: number[] = [];
  settle(x: T1, code: Outcome, order: number, stage: Stage): void {
    this.settled.push([x.id, code, order, stage]);
  }
  answerEarly(x: T1, code: Outcome): void {
    this.early.push([x.id, code]);
  }
  drop(x: T1): void {
    this.dropped.push(x.id);
  }
}

/**
 * A Redis double: `buy` answers each user from a script of its own (a Map
 * of stock and buyers, as lua/buy-8.lua would), or fails as told; `hmget`
 * and `get` read that state (the consumer's resolve step).
 */
class FakeRedis extends EventEmitter {
  status = 'ready';
  calls: string[][] = [];
  stock: number;
  readonly buyers = new Map<string, number>();
  /** The next buy call: runs (and its reply is lost: a timeout), or fails before running. */
  next: 'ok' | 'lost' | 'refused' = 'ok';
  constructor(stock: number) {
    super();
    this.stock = stock;
  }
  async buy(...keysAndUsers: string[]): Promise<number[]> {
    const users = keysAndUsers.slice(8);
    this.calls.push(users);
    const mode = this.next;
    this.next = 'ok';
    if (mode === 'refused') throw new ReplyError('ERR refused');
    const out: number[] = [0];
    for (const u of users) {
      const had = this.buyers.get(u);
      if (had !== undefined) out.push(2, had);
      else if (this.stock <= 0) out.push(1, 0);
      else {
        this.stock--;
        const o = this.buyers.size + 1;
        this.buyers.set(u, o);
        out.push(0, o);
      }
    }
    out[0] = this.stock;
    out.push(this.buyers.size);
    if (mode === 'lost') throw new Error('Command timed out');
    return out;
  }
  async hmget(_key: string, ...users: string[]): Promise<(string | null)[]> {
    return users.map((u) => (this.buyers.has(u) ? String(this.buyers.get(u)) : null));
  }
  async get(): Promise<string> {
    return String(this.stock);
  }
}

function consumer(redis: FakeRedis, sink: Recorded, batchSize = 10): Consumer<T1> {
  const c = new Consumer<T1>(new TicketRing<T1>(100), sink, redis as unknown as RedisClient, { rate: 1_000_000, burst: 1_000, batchSize, sweepMs: 5 });
  t.teardown(() => c.close());
  return c;
}

t.test('consumer: one script call per batch, each ticket settled with what Redis said, winners learned', async (t) => {
  const redis = new FakeRedis(3);
  const sink = new Recorded();
  const c = consumer(redis, sink);
  const e = event(3);
  for (let i = 1; i <= 5; i++) c.enqueue(ticket(e, i));
  await c.idle();
  t.same(redis.calls, [['u1', 'u2', 'u3', 'u4', 'u5']], 'one call for the five');
  t.same(
    sink.settled.map(([id, code, order]) => [id, code, order]),
    [[1, 0, 1], [2, 0, 2], [3, 0, 3], [4, 1, 0], [5, 1, 0]],
    'three won, two sold out',
  );
  t.equal(e.remaining, 0, "Redis' count learned");
  t.same([...e.winners], [['u1', 1], ['u2', 2], ['u3', 3]], 'the winners learned');
});

t.test('consumer: a batch bigger than batchSize is split; a ticket nobody wants is dropped, never sent', async (t) => {
  const redis = new FakeRedis(10);
  const sink = new Recorded();
  const c = consumer(redis, sink, 2);
  const e = event(10);
  const tickets = [1, 2, 3, 4, 5].map((i) => ticket(e, i));
  tickets[2]!.gone = true;
  for (const x of tickets) c.enqueue(x);
  await c.idle();
  t.same(redis.calls, [['u1', 'u2'], ['u4', 'u5']], 'two calls of two; u3 left');
  t.same(sink.dropped, [3]);
});

t.test('consumer: a refused call settles 10 and sells nothing; a lost reply is resolved from the buyers hash', async (t) => {
  const redis = new FakeRedis(5);
  const sink = new Recorded();
  const c = consumer(redis, sink);
  const e = event(5);
  redis.next = 'refused';
  c.enqueue(ticket(e, 1));
  await c.idle();
  t.same(sink.settled.map(([id, code, , stage]) => [id, code, stage]), [[1, Outcome.Unavailable, Stage.Queue]], 'refused: 10');
  t.equal(redis.buyers.size, 0);
  redis.next = 'lost';
  c.enqueue(ticket(e, 2));
  c.enqueue(ticket(e, 3));
  await c.idle();
  t.same(sink.early, [[2, Outcome.Unavailable], [3, Outcome.Unavailable]], 'no reply: told 10 at once');
  t.same(
    sink.settled.slice(1).map(([id, code, order]) => [id, code, order]),
    [[2, 0, 1], [3, 0, 2]],
    'then settled as Redis decided: both won (their retries will hear 2)',
  );
  t.same([...e.winners.keys()], ['u2', 'u3'], 'and known as winners');
});

t.test('consumer: a ticket past its deadline while waiting is settled 6 and never sent', async (t) => {
  const redis = new FakeRedis(5);
  const sink = new Recorded();
  const c = consumer(redis, sink);
  const e = event(5);
  c.enqueue(ticket(e, 1, Date.now() - 1));
  c.sweep(Date.now());
  await c.idle();
  t.same(sink.settled.map(([id, code]) => [id, code]), [[1, Outcome.Timeout]]);
  t.same(redis.calls, [], 'never sent to Redis');
});

t.test('consumer: Redis not ready settles everything 10 at once', async (t) => {
  const redis = new FakeRedis(5);
  redis.status = 'reconnecting';
  const sink = new Recorded();
  const c = consumer(redis, sink);
  const e = event(5);
  c.enqueue(ticket(e, 1));
  c.enqueue(ticket(e, 2));
  await c.idle();
  t.same(sink.settled.map(([id, code]) => [id, code]), [[1, Outcome.Unavailable], [2, Outcome.Unavailable]]);
  t.same(redis.calls, []);
});
