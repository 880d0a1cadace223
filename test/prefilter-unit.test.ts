import t from 'tap';
import { FOLLOW, prefilter, QUEUE, WAIT, type Decision } from '../src/admission/prefilter';
import { SaleEvent } from '../src/events/sale-event';
import { Outcome } from '../src/outcome';

/**
 * In process, pure logic: the prefilter (src/admission/prefilter.ts), each
 * of its checks in the order it makes them, on a real SaleEvent. How
 * admission acts on its decisions is test/sale-state.test.ts.
 */

const START = 1_000_000;
const END = 2_000_000;
const NOW = 1_500_000;

/** An open sale of `stock` (with a payment deadline when `payWithin` > 0). */
function event(stock: number, payWithin = 0): SaleEvent {
  return new SaleEvent('e', { stock, start: START, end: END, name: '', payWithin }, stock);
}

/** Redis has nothing left, and this process knows every buyer (the catalog read them). */
function soldOutKnown(e: SaleEvent): void {
  e.syncRemaining(0);
  e.winnersCompleted(e.winnersGeneration);
}

/** `user` has a request admitted and undecided here (what Ledger.reserve does). */
function queue(e: SaleEvent, user: string): { user: string } {
  const leader = { user };
  e.reserve(leader);
  return leader;
}

/** Every unit left is claimed by undecided requests of other users. */
function allClaimed(e: SaleEvent): void {
  for (let i = 0; i < e.remaining; i++) queue(e, `other${i}`);
}

const NAMES = new Map<Decision, string>([
  [FOLLOW, 'FOLLOW'],
  [QUEUE, 'QUEUE'],
  [WAIT, 'WAIT'],
]);
const name = (d: Decision): string => NAMES.get(d) ?? Outcome[d] ?? String(d);

t.test('the sale window comes first: 3 before the start, 4 from the end', async (t) => {
  const e = event(5);
  t.equal(name(prefilter(e, 'u', START - 1)), 'NotStarted');
  t.equal(name(prefilter(e, 'u', START)), 'QUEUE', 'open from the start itself');
  t.equal(name(prefilter(e, 'u', END - 1)), 'QUEUE');
  t.equal(name(prefilter(e, 'u', END)), 'Ended', 'closed at the end itself');
  e.learnWinner('w', 1);
  queue(e, 'q');
  t.equal(name(prefilter(e, 'w', START - 1)), 'NotStarted', 'a winner outside the window hears the window');
  t.equal(name(prefilter(e, 'q', END)), 'Ended', 'so does a queued user');
  soldOutKnown(e);
  t.equal(name(prefilter(e, 'u', END)), 'Ended', 'and anyone once sold out');
});

t.test('a known winner: 2 from memory, before any check of the queue or the stock', async (t) => {
  const e = event(5);
  e.learnWinner('w', 4);
  t.equal(name(prefilter(e, 'w', NOW)), 'AlreadyBought');
  queue(e, 'w');
  t.equal(name(prefilter(e, 'w', NOW)), 'AlreadyBought', 'also while a request of theirs is undecided (its retry was resolved)');
  soldOutKnown(e);
  t.equal(name(prefilter(e, 'w', NOW)), 'AlreadyBought', 'and once sold out: never 1 to a buyer');
});

t.test('the same user already waiting: follow, before any check of the stock', async (t) => {
  const one = event(1);
  queue(one, 'a');
  t.equal(one.available, 0, "a's own reservation makes the estimate 0");
  t.equal(name(prefilter(one, 'a', NOW)), 'FOLLOW', "a's repeat click follows, never waits behind itself");
  t.equal(name(prefilter(one, 'b', NOW)), 'WAIT', 'another user waits');

  const e = event(2);
  queue(e, 'a');
  queue(e, 'b');
  soldOutKnown(e);
  t.equal(name(prefilter(e, 'c', NOW)), 'SoldOut', 'Redis has none left and every buyer is known: sold out to others...');
  t.equal(name(prefilter(e, 'a', NOW)), 'FOLLOW', '...but a queued user follows (their request may be one that won), never sold out');

  const paying = event(2, 60);
  paying.learnWinner('w', 1, NOW - 1);
  queue(paying, 'w');
  t.equal(name(prefilter(paying, 'w', NOW)), 'FOLLOW', 'a winner past their deadline with a request in flight follows it: one request per user to Redis');
  paying.unitsReturned(2, [{ user: 'w', order: 1 }]);
  t.equal(name(prefilter(paying, 'w', NOW)), 'FOLLOW', 'so does a user whose order expired');
});

t.test('a winner past their payment deadline, or whose order expired: to Redis, whatever the stock says', async (t) => {
  const e = event(3, 60);
  e.learnWinner('late', 1, NOW);
  e.learnWinner('lapsed', 2, NOW + 1);
  e.unitsReturned(3, [{ user: 'lapsed', order: 2 }]);
  t.equal(name(prefilter(e, 'late', NOW - 1)), 'AlreadyBought', 'before the deadline: from memory');
  t.equal(name(prefilter(e, 'late', NOW)), 'QUEUE', 'from the deadline: Redis says 2 or 12');
  t.equal(name(prefilter(e, 'lapsed', NOW)), 'QUEUE', 'expired: Redis says 12 with the order');
  allClaimed(e);
  t.equal(name(prefilter(e, 'late', NOW)), 'QUEUE', 'every unit claimed: still no waiting for a unit they hold');
  t.equal(name(prefilter(e, 'lapsed', NOW)), 'QUEUE', 'nor for an expired user, who cannot buy again');
  t.equal(name(prefilter(e, 'new', NOW)), 'WAIT', 'a new user waits');
  const sold = event(1, 60);
  sold.learnWinner('lapsed', 1, NOW + 1);
  sold.unitsReturned(0, [{ user: 'lapsed', order: 1 }]);
  soldOutKnown(sold);
  t.equal(name(prefilter(sold, 'lapsed', NOW)), 'QUEUE', 'sold out and every buyer known: an expired user still hears 12 from Redis, not 1');
  t.equal(name(prefilter(sold, 'new', NOW)), 'SoldOut');
});

t.test("Redis' count 0: sold out only when every buyer is known, else to Redis (never WAIT)", async (t) => {
  const e = event(2);
  queue(e, 'x');
  e.syncRemaining(0);
  t.equal(e.winnersComplete, false);
  t.equal(name(prefilter(e, 'u', NOW)), 'QUEUE', 'a buyer through another process must hear 2: Redis answers');
  e.winnersCompleted(e.winnersGeneration);
  t.equal(name(prefilter(e, 'u', NOW)), 'SoldOut', 'every buyer known: 1 from memory, though a request is undecided');
  e.unitsReturned(1, []);
  t.equal(name(prefilter(e, 'u', NOW)), 'WAIT', 'a unit came back, and x holds it');
  e.syncRemaining(0);
  t.equal(name(prefilter(e, 'u', NOW)), 'QUEUE', 'count 0 again: the buyers must be read again before another 1');
});

t.test('every unit left claimed by undecided requests: WAIT; one unclaimed: QUEUE', async (t) => {
  const e = event(3);
  t.equal(name(prefilter(e, 'u', NOW)), 'QUEUE');
  queue(e, 'a');
  const b = queue(e, 'b');
  t.equal(e.available, 1);
  t.equal(name(prefilter(e, 'u', NOW)), 'QUEUE', 'one unit unclaimed');
  queue(e, 'c');
  t.equal(name(prefilter(e, 'u', NOW)), 'WAIT', 'none unclaimed: wait behind them, never 1 while Redis has units');
  e.release(b);
  t.equal(name(prefilter(e, 'u', NOW)), 'QUEUE', 'one given back');
  t.same([e.reserved, e.remaining], [2, 3], 'the prefilter itself changed nothing');
});

t.test('paused: 16 for every buy inside the window, before any other check; outside the window the window speaks', async (t) => {
  const e = event(5);
  e.heard('winner', Outcome.Won, 1);
  queue(e, 'queued');
  e.pause(NOW - 10);
  t.equal(prefilter(e, 'new', NOW), Outcome.Paused, 'a new user');
  t.equal(prefilter(e, 'winner', NOW), Outcome.Paused, 'a known winner');
  t.equal(prefilter(e, 'queued', NOW), Outcome.Paused, 'a queued user (not a follower)');
  soldOutKnown(e);
  t.equal(prefilter(e, 'new', NOW), Outcome.Paused, 'even with nothing left');
  t.equal(prefilter(e, 'new', START - 1), Outcome.NotStarted, 'before the start');
  t.equal(prefilter(e, 'new', END), Outcome.Ended, 'after the end');
  e.pause(0);
  t.equal(prefilter(e, 'winner', NOW), Outcome.AlreadyBought, 'resumed: the checks as before');
});
