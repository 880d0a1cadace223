import t from 'tap';
import { Ledger } from '../src/admission/ledger';
import { Parked } from '../src/admission/parked';
import { ParkQueue } from '../src/admission/queue';
import type { Reply } from '../src/admission/reply';
import { Channel, Stage } from '../src/events/answer-counts';
import { SaleEvent } from '../src/events/sale-event';
import { Outcome } from '../src/outcome';

/**
 * In process, pure logic: the Ledger (src/admission/ledger.ts) and the
 * ParkQueue (src/admission/queue.ts) it counts parked requests in. A
 * request's transport is a recording Reply; the sale is a real SaleEvent.
 * How admission drives them is test/sale-state.test.ts.
 */

const HOUR = 3_600_000;

function event(stock: number, id = 'e'): SaleEvent {
  return new SaleEvent(id, { stock, start: Date.now() - 1_000, end: Date.now() + HOUR, name: '' }, stock);
}

/** Everything written to any recorder of a test, in order: "user:code:order". */
type Log = string[];

/** A Reply that writes what it was told to the test's log; `answer` (inside the transport's own callback) is never the ledger's to call. */
class Recorder implements Reply {
  readonly channel = Channel.Http;
  constructor(
    private readonly user: string,
    private readonly log: Log,
  ) {}
  answer(): void {
    throw new Error(`${this.user}: the ledger answers after an asynchronous step, through answerLater`);
  }
  answerLater(code: Outcome, order: number): void {
    this.log.push(`${this.user}:${code}:${order}`);
  }
  parked(): void {}
}

/** A queue, its ledger, and a way to make parked requests that write to one log. */
function setup(capacity = 100) {
  const queue = new ParkQueue(capacity);
  const ledger = new Ledger(queue);
  const log: Log = [];
  const gate = { closing: false };
  const park = (e: SaleEvent, user: string, deadline = Date.now() + 60_000): Parked =>
    new Parked(gate, new Recorder(user, log), e, user, deadline);
  /** A leader as admission makes one: its unit reserved, then queued for the consumer. */
  const lead = (e: SaleEvent, user: string): Parked => {
    const p = park(e, user);
    ledger.reserve(p);
    queue.push(p);
    return p;
  };
  return { queue, ledger, log, park, lead };
}

t.test('capacity: leaders waiting, their followers and the requests standing by share it', async (t) => {
  const { queue, ledger, park, lead } = setup(4);
  const e = event(10);
  const a = lead(e, 'a');
  lead(e, 'b');
  ledger.follow(a, park(e, 'a'));
  t.notOk(ledger.full, '2 leaders + 1 follower of 4: room for one more');
  ledger.stand(park(e, 'c'));
  t.ok(ledger.full, '2 leaders + 1 follower + 1 standing by = 4: full');
  t.same([queue.size, queue.followers, queue.standing, queue.live], [2, 1, 1, 4]);
  queue.shift();
  t.notOk(ledger.full, 'a leader taken into a batch leaves the ring (its follower still counts)');
  t.equal(queue.followers, 1);
  ledger.unstand(e);
  t.equal(queue.standing, 0);
  t.same([ledger.full, queue.full], [false, false], 'the ledger says what its queue says');
});

t.test('follow / releaseFollowers: a leader\'s followers, in arrival order, detached once', async (t) => {
  const { queue, ledger, park, lead } = setup();
  const e = event(10);
  const a = lead(e, 'a');
  const f1 = park(e, 'a');
  const f2 = park(e, 'a');
  ledger.follow(a, f1);
  ledger.follow(a, f2);
  t.equal(a.followers?.length, 2);
  t.same([queue.followers, queue.live], [2, 3]);
  const released = queue.releaseFollowers(a);
  t.ok(released?.[0] === f1 && released[1] === f2, 'returned in the order they came');
  t.equal(a.followers, undefined, 'detached from the leader');
  t.equal(queue.followers, 0);
  t.equal(queue.releaseFollowers(a), undefined, 'a second release finds none');
  t.equal(queue.followers, 0, 'and counts nothing twice');
  t.equal(queue.live, 3, 'released is not answered: still live until written to');
});

t.test('settle: the leader and its followers are answered (won → already bought, same order) and the unit goes back', async (t) => {
  const { queue, ledger, log, park, lead } = setup();
  const e = event(10);
  const a = lead(e, 'a');
  ledger.follow(a, park(e, 'a'));
  ledger.follow(a, park(e, 'a'));
  t.same([e.reserved, e.available, e.queued.get('a') === a], [1, 9, true], 'a holds one unit');
  queue.shift();
  ledger.settle(a, Outcome.Won, 7, Stage.Redis);
  t.same(log, ['a:0:7', 'a:2:7', 'a:2:7'], 'the leader won order 7; each follower hears "already bought", order 7');
  t.same([e.reserved, e.available, e.queued.has('a')], [0, 10, false], 'the reservation is given back');
  t.same([queue.followers, queue.live], [0, 0], 'nothing parked any more');
  t.equal(e.answers.at(Channel.Http, Stage.Redis, Outcome.Won), 1, 'counted once as a win');
  t.equal(e.answers.at(Channel.Http, Stage.Redis, Outcome.AlreadyBought), 2, 'and twice as already bought');

  const b = lead(e, 'b');
  ledger.follow(b, park(e, 'b'));
  ledger.settle(b, Outcome.SoldOut, 0, Stage.Redis);
  t.same(log.slice(3), ['b:1:0', 'b:1:0'], 'any other answer is shared as it is');
  t.equal(e.reserved, 0);
});

t.test('answerEarly: the leader and its followers hear it now; the reservation stays until settled', async (t) => {
  const { queue, ledger, log, park, lead } = setup();
  const e = event(10);
  const a = lead(e, 'a');
  ledger.follow(a, park(e, 'a'));
  queue.shift();
  ledger.answerEarly(a, Outcome.Unavailable, Stage.Queue);
  t.same(log, ['a:10:0', 'a:10:0'], 'both told 10 (retry)');
  t.same([e.reserved, e.queued.get('a') === a], [1, true], 'the unit is still held: Redis may have granted it');
  t.same([queue.followers, queue.live], [0, 0]);
  // The retry follows the undecided batch, and hears what Redis did.
  const retry = park(e, 'a');
  ledger.follow(a, retry);
  t.equal(queue.live, 1);
  ledger.settle(a, Outcome.Won, 3, Stage.Redis);
  t.same(log.slice(2), ['a:2:3'], 'the leader is not written to again; its retry hears "already bought", order 3');
  t.same([e.reserved, queue.live], [0, 0], 'settled: the unit is given back once');
});

t.test('drop: never decided, nobody written to, the unit goes back', async (t) => {
  const { queue, ledger, log, park, lead } = setup();
  const e = event(10);
  const a = lead(e, 'a');
  const f = park(e, 'a');
  ledger.follow(a, f);
  ledger.abandon(a);
  ledger.abandon(f);
  t.notOk(a.wanted(), 'nobody waits on a');
  t.equal(queue.live, 0);
  queue.shift();
  ledger.drop(a);
  t.same(log, [], 'nothing written');
  t.same([e.reserved, e.available, queue.followers, queue.live], [0, 10, 0, 0]);
});

t.test('abandon: never written to again, and `live` freed once whatever follows', async (t) => {
  const { queue, ledger, log, park, lead } = setup();
  const e = event(10);
  const a = lead(e, 'a');
  const f = park(e, 'a');
  ledger.follow(a, f);
  t.equal(queue.live, 2);
  ledger.abandon(a);
  ledger.abandon(a);
  t.equal(queue.live, 1, 'twice abandoned, freed once');
  t.ok(a.done);
  t.ok(a.wanted(), 'still worth deciding: its follower waits');
  queue.shift();
  ledger.settle(a, Outcome.Won, 4, Stage.Redis);
  t.same(log, ['a:2:4'], 'only the follower is written to');
  t.equal(queue.live, 0, 'not freed a second time by the settle');
  t.equal(e.answers.at(Channel.Http, Stage.Redis, Outcome.Won), 0, 'an answer never written is not counted');

  const s = park(e, 's');
  ledger.stand(s);
  ledger.abandon(s);
  t.same([queue.live, queue.standing], [0, 1], 'standing by and abandoned: freed, still in the line');
  ledger.unstand(e, true);
  t.same([queue.live, queue.standing], [0, 0], 'taken out of the line as admitted: not freed twice');
  ledger.answerParked(s, Outcome.SoldOut, 0, Stage.Prefilter);
  t.same([log.length, queue.live], [1, 0], 'an answer to it is not written');
});

t.test('stand / nextStanding / unstand: a line per event, in arrival order, with the standing and live counts', async (t) => {
  const { queue, ledger, log, park } = setup();
  const e = event(1);
  const g = event(1, 'g');
  const a = park(e, 'a');
  const b = park(e, 'b');
  const c = park(g, 'c');
  ledger.stand(a);
  ledger.stand(b);
  ledger.stand(c);
  t.same([queue.standing, queue.live], [3, 3]);
  t.same(ledger.standing().map((x) => x.id), ['e', 'g'], 'the events with requests standing by');
  t.equal(ledger.nextStanding(e), a, 'the first to come');
  t.equal(ledger.nextStanding(e), a, 'nextStanding only looks');
  t.equal(ledger.nextStanding(g), c, 'each event has its own line');

  ledger.unstand(e);
  t.same([queue.standing, queue.live], [2, 3], 'not admitted: out of the line, still live until answered');
  ledger.answerParked(a, Outcome.SoldOut, 0, Stage.Prefilter);
  t.same([queue.live, log], [2, ['a:1:0']]);
  t.equal(e.answers.at(Channel.Http, Stage.Prefilter, Outcome.SoldOut), 1, 'counted at the stage given');

  t.equal(ledger.nextStanding(e), b);
  ledger.unstand(e, true);
  t.same([queue.standing, queue.live], [1, 1], 'admitted: no longer live here...');
  ledger.reserve(b);
  queue.push(b);
  t.same([queue.standing, queue.live], [1, 2], '...and live again as a queued leader');
  t.equal(ledger.nextStanding(e), undefined, "e's line is empty");
  t.same(ledger.standing().map((x) => x.id), ['g'], 'and gone from the events standing by');

  ledger.unstand(e);
  ledger.unstand(e, true);
  t.same([queue.standing, queue.live], [1, 2], 'unstand on an empty line changes nothing');
});

t.test('sweep: timeout (6) to the requests standing by past their deadline, in order; abandoned ones skipped', async (t) => {
  const { queue, ledger, log, park } = setup();
  const e = event(1);
  const g = event(1, 'g');
  const now = 1_000_000;
  const a = park(e, 'a', now + 100);
  const b = park(e, 'b', now + 110);
  const c = park(e, 'c', now + 120);
  const d = park(e, 'd', now + 500);
  const x = park(g, 'x', now + 150);
  for (const p of [a, b, c, d, x]) ledger.stand(p);
  ledger.abandon(b);
  t.same([queue.standing, queue.live], [5, 4]);

  ledger.sweep(now + 99);
  t.same(log, [], 'before any deadline: nothing');
  ledger.sweep(now + 200);
  t.same(log, ['a:6:0', 'c:6:0', 'x:6:0'], 'a and c in order, b (abandoned) skipped, then the other event');
  t.same([queue.standing, queue.live], [1, 1], 'only d is left');
  t.equal(ledger.nextStanding(e), d);
  t.same(ledger.standing().map((x) => x.id), ['e'], "g's line is gone");
  t.equal(e.answers.at(Channel.Http, Stage.Queue, Outcome.Timeout), 2, 'counted at the queue stage');

  ledger.sweep(now + 500);
  t.same(log.slice(3), ['d:6:0'], 'at the deadline itself: timeout');
  t.same([queue.standing, queue.live, ledger.standing()], [0, 0, []]);

  const gone = park(e, 'gone', now + 10_000);
  ledger.stand(gone);
  ledger.abandon(gone);
  t.equal(queue.standing, 1, 'abandoned, it still holds its place in the line...');
  ledger.sweep(now + 600);
  t.same([queue.standing, queue.live, ledger.standing(), log.length], [0, 0, [], 4], '...until the next sweep takes it out, unanswered, before its deadline');
});

t.test('onFreed: after a settle or a drop while requests stand by for that event, never otherwise', async (t) => {
  const { queue, ledger, park, lead } = setup();
  const e = event(2);
  const g = event(2, 'g');
  const freed: string[] = [];
  ledger.onFreed = (ev) => freed.push(ev.id);
  const a = lead(e, 'a');
  const b = lead(e, 'b');
  const c = lead(e, 'c');
  queue.shift();
  queue.shift();
  queue.shift();
  ledger.settle(a, Outcome.Won, 1, Stage.Redis);
  t.same(freed, [], 'nobody stands by: not called');

  ledger.stand(park(g, 's'));
  ledger.settle(b, Outcome.Won, 2, Stage.Redis);
  t.same(freed, [], 'somebody stands by for another event: not called');

  ledger.stand(park(e, 't'));
  ledger.answerEarly(c, Outcome.Unavailable, Stage.Queue);
  t.same(freed, [], 'answered early: the unit is still held, not called');
  ledger.drop(c);
  t.same(freed, ['e'], 'dropped: its unit is back');
  const d = lead(e, 'd');
  queue.shift();
  ledger.settle(d, Outcome.SoldOut, 0, Stage.Redis);
  t.same(freed, ['e', 'e'], 'settled: called again');
});

t.test('onSoldOut: a sell-out heard while leaders were undecided applies after the last one is answered', async (t) => {
  const { queue, ledger, log, lead, park } = setup();
  const e = event(5);
  ledger.onSoldOut = (ev) => log.push(`soldOut:${ev.id}`);
  ledger.onFreed = (ev) => log.push(`freed:${ev.id}`);
  const a = lead(e, 'a');
  const b = lead(e, 'b');
  queue.shift();
  queue.shift();
  t.notOk(e.soldOut(), 'another process said "sold out": held while a and b are undecided');
  ledger.settle(a, Outcome.Won, 1, Stage.Redis);
  t.same(log, ['a:0:1'], 'b is still undecided: not yet');
  ledger.stand(park(e, 'c'));
  ledger.settle(b, Outcome.Won, 2, Stage.Redis);
  t.same(log, ['a:0:1', 'b:0:2', 'soldOut:e', 'freed:e'], "b's win first, then the sell-out, then the line standing by is reviewed");
  t.equal(e.remaining, 0);

  // The last undecided leader dropped applies it too; without a held sell-out nothing is said.
  const g = event(5, 'g');
  const x = lead(g, 'x');
  queue.shift();
  g.soldOut();
  ledger.abandon(x);
  ledger.drop(x);
  t.same(log.slice(4), ['soldOut:g']);
  const h = event(5, 'h');
  const y = lead(h, 'y');
  queue.shift();
  ledger.settle(y, Outcome.Won, 1, Stage.Redis);
  t.same(log.slice(5), ['y:0:1'], 'no sell-out heard: onSoldOut not called');
});
