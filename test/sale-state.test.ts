import t from 'tap';
import { Admission, type Decider } from '../src/admission/admission';
import { Ledger } from '../src/admission/ledger';
import { prefilter, QUEUE } from '../src/admission/prefilter';
import type { Parked } from '../src/admission/parked';
import { ParkQueue } from '../src/admission/queue';
import type { Reply } from '../src/admission/reply';
import { SaleEvent } from '../src/events/sale-event';
import { AnswerCounts } from '../src/events/answer-counts';
import { Outcome } from '../src/outcome';

/** In process, pure logic: the rules that keep "sold out" true. */

const HOUR = 3_600_000;

function event(stock: number): SaleEvent {
  return new SaleEvent('e', { stock, start: Date.now() - 1_000, end: Date.now() + HOUR, name: '' }, stock);
}

interface Told {
  code?: Outcome;
  order?: number;
}

/** A Reply that records what it was told. */
function reply(told: Told): Reply {
  return {
    channel: 0,
    answer: (code, order) => Object.assign(told, { code, order }),
    answerLater: (code, order) => Object.assign(told, { code, order }),
    parked: () => undefined,
  } as Reply;
}

/** A decider that lines up what it is given, as the consumer does, and keeps it (no Redis). */
class Held implements Decider {
  readonly redisReady = true;
  readonly leaders: Parked[] = [];
  constructor(private readonly queue: ParkQueue) {}
  enqueue(p: Parked): void {
    this.queue.push(p);
    this.leaders.push(p);
  }
}

function front(e: SaleEvent, completeWinners = (): void => undefined) {
  const queue = new ParkQueue(100);
  const ledger = new Ledger(queue);
  const decider = new Held(queue);
  const admission = new Admission({ get: (id) => (id === e.id ? e : undefined), completeWinners }, ledger, decider, 60_000, new AnswerCounts());
  ledger.onFreed = (ev) => admission.review(ev);
  const buy = (user: string): Told => {
    const told: Told = {};
    admission.buy(reply(told), e.id, user);
    return told;
  };
  return { queue, ledger, decider, admission, buy };
}

t.test('no "sold out" while units remain: a request behind undecided ones stands by, then gets the truth', async (t) => {
  const e = event(2);
  const f = front(e);
  f.buy('a');
  f.buy('b');
  const c = f.buy('c');
  t.equal(c.code, undefined, 'c waits: both units are claimed by undecided requests, but not sold');
  t.equal(f.queue.standing, 1);
  t.equal(f.queue.live, 3, 'three parked');
  // a's client left before Redis decided: its unit goes back, and c takes its place in the line.
  const [a, b] = f.decider.leaders as [Parked, Parked];
  f.ledger.drop(a);
  t.equal(f.decider.leaders.length, 3, 'c is queued for the unit a gave back');
  t.equal(f.queue.standing, 0);
  // b and c win the two units: Redis says none left.
  e.syncRemaining(0);
  e.learnWinner('b', 1);
  f.ledger.settle(b, Outcome.Won, 1, 3);
  const d = f.buy('d');
  t.equal(d.code, undefined, 'Redis says 0 but this process does not know every buyer: d goes to Redis');
  t.equal(f.decider.leaders.length, 4);
});

t.test('sold out from memory once every buyer is known; a restore forgets the old winners', async (t) => {
  const e = event(1);
  let asked = 0;
  const f = front(e, () => asked++);
  e.learnWinner('alice', 1);
  e.syncRemaining(0);
  t.equal(f.buy('bob').code, undefined, 'winners not known complete: bob goes to Redis');
  t.equal(asked, 1, 'and the catalog is asked to read every buyer');
  e.winnersCompleted(e.winnersGeneration);
  t.equal(f.buy('carol').code, Outcome.SoldOut, 'then "sold out" from memory');
  t.same(f.buy('alice'), { code: Outcome.AlreadyBought, order: 1 }, 'a winner: already bought, with the order');
  // Units come back (an expired order): buyers may now be added elsewhere.
  e.unitsReturned(1, []);
  e.syncRemaining(0);
  t.notOk(e.winnersComplete, 'after units came back and sold again, the winners must be read again');
  // A new incarnation (restored from MySQL): the winners known are stale.
  e.incarnation('1');
  t.equal(e.winners.size, 1);
  t.ok(e.incarnation('2'), 'a new incarnation is seen');
  t.equal(e.winners.size, 0, 'alice is forgotten: her order was lost with Redis');
});

t.test('with a payment deadline, "already bought" comes from memory only while the order cannot have expired', async (t) => {
  const now = Date.now();
  const e = new SaleEvent('e', { stock: 5, start: now - 1_000, end: now + HOUR, name: '', payWithin: 60 }, 5);
  e.learnWinner('alice', 1, now + 30_000);
  e.learnWinner('bob', 2, now - 1);
  e.learnWinner('carol', 3);
  t.equal(prefilter(e, 'alice', now), Outcome.AlreadyBought, 'before her deadline: from memory');
  t.equal(prefilter(e, 'alice', now + 30_000), QUEUE, 'at it: to Redis (2 if paid or not yet swept, 12 if expired)');
  t.equal(prefilter(e, 'bob', now), QUEUE, 'past his deadline: to Redis');
  t.equal(prefilter(e, 'carol', now), QUEUE, 'deadline unknown (learned from "already bought" or the buyers hash): to Redis');
  e.syncRemaining(0);
  e.winnersCompleted(e.winnersGeneration);
  t.equal(prefilter(e, 'bob', now), QUEUE, 'sold out: still to Redis, never "sold out" to a buyer');
  t.equal(prefilter(e, 'dave', now), Outcome.SoldOut, 'a user who is no buyer: sold out from memory');
  const final = new SaleEvent('f', { stock: 5, start: now - 1_000, end: now + HOUR, name: '' }, 5);
  final.learnWinner('alice', 1);
  t.equal(prefilter(final, 'alice', now + HOUR / 2), Outcome.AlreadyBought, 'no deadline: a win is final, from memory');
});

t.test('another process\'s sell-out waits for this one\'s undecided leaders (their wins are told first)', async (t) => {
  const e = event(5);
  const f = front(e);
  const soldOut: string[] = [];
  f.ledger.onSoldOut = (ev) => soldOut.push(ev.id);
  f.buy('a');
  const [a] = f.decider.leaders as [Parked];
  t.notOk(e.soldOut(), 'the news is held while a is undecided');
  t.equal(e.remaining, 5);
  e.learnWinner('a', 5);
  f.ledger.settle(a, Outcome.Won, 5, 3);
  t.same(soldOut, ['e'], 'then applied, after a was answered');
  t.equal(e.remaining, 0);

  // Held back, then units come back before this process's leaders are decided: the old news must not apply.
  const g = event(5);
  const h = front(g);
  h.buy('b');
  const [b] = h.decider.leaders as [Parked];
  t.notOk(g.soldOut(), 'held');
  g.unitsReturned(3, []);
  h.ledger.settle(b, Outcome.Unavailable, 0, 3);
  t.equal(g.remaining, 3, 'the count read after the news stands: no stale "sold out"');
});

t.test('a request standing by past its deadline is answered 6, and frees its place', async (t) => {
  const e = event(1);
  const f = front(e);
  f.buy('a');
  const b = f.buy('b');
  f.ledger.sweep(Date.now() + 120_000);
  t.equal(b.code, Outcome.Timeout);
  t.equal(f.queue.standing, 0);
  t.equal(f.queue.live, 1, 'only a is parked');
});
