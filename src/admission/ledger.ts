import { Outcome } from '../outcome';
import { Stage } from '../events/answer-counts';
import type { SaleEvent } from '../events/sale-event';
import { followerOutcome, type Parked } from './parked';
import type { ParkQueue } from './queue';
import type { TicketSink } from './ticket';

/** Told when a unit of `event` may have come free, or the event changed: re-decide the requests standing by. */
export type Freed = (event: SaleEvent) => void;

/**
 * The one owner of this process's per-request sale state: each event's
 * `reserved` count and `queued` users (through SaleEvent.reserve/release,
 * called from here only), the requests standing by for a unit, the parked
 * count, and the answers of parked requests (counted once each, by
 * Parked.answer). Admission reserves through it; the consumer settles
 * through it, so the counts are changed in one place.
 */
export class Ledger implements TicketSink<Parked> {
  /** Per event, requests waiting (in arrival order) behind undecided ones for a unit to come free. */
  private readonly standby = new Map<SaleEvent, Parked[]>();
  /** Set by the front: re-decides the standbys of an event (Admission.review). */
  onFreed: Freed | undefined;
  /** Set by the front: a sell-out another process announced applies now that this one's leaders are decided (push it). */
  onSoldOut: ((event: SaleEvent) => void) | undefined;

  constructor(readonly queue: ParkQueue) {}

  /** No room to park another request: answer 5. */
  get full(): boolean {
    return this.queue.full;
  }

  /** A leader admitted: it holds its units (one on a one-unit event) of the event's estimate until settled. */
  reserve(p: Parked): void {
    p.event.reserve(p);
  }

  /** The same user's repeat click while its leader waits: it shares the leader's answer. */
  follow(leader: Parked, follower: Parked): void {
    this.queue.follow(leader, follower);
  }

  /** Every unit left is claimed by undecided requests: this one waits for one of them to give its unit back, or for the count to reach 0. */
  stand(p: Parked): void {
    let line = this.standby.get(p.event);
    if (line === undefined) this.standby.set(p.event, (line = []));
    line.push(p);
    this.queue.standing++;
    this.queue.live++;
  }

  /** The first request standing by for `event`, if any (Admission.review decides it again). */
  nextStanding(event: SaleEvent): Parked | undefined {
    return this.standby.get(event)?.[0];
  }

  /**
   * Takes the first request standing by out of the line: it is answered
   * next, or (`admitted`) queued or made a follower, which counts it as
   * parked again.
   */
  unstand(event: SaleEvent, admitted = false): void {
    const line = this.standby.get(event);
    const p = line?.shift();
    if (line === undefined || p === undefined) return;
    this.queue.standing--;
    if (admitted && !p.done) this.queue.live--;
    if (line.length === 0) this.standby.delete(event);
  }

  /** A request parked and never queued (standing by) gets its answer now. */
  answerParked(p: Parked, code: Outcome, order: number, stage: Stage, count = 0): void {
    this.reply(p, code, order, stage, count);
  }

  /** A leader's outcome is known: drop its reservation, answer it and its followers. */
  settle(p: Parked, code: Outcome, order: number, stage: Stage, count = 0): void {
    const soldOut = p.event.release(p);
    this.reply(p, code, order, stage, count);
    const followers = this.queue.releaseFollowers(p);
    if (followers !== undefined) {
      const fc = followerOutcome(code);
      for (const f of followers) this.reply(f, fc, order, stage);
    }
    this.after(p.event, soldOut);
  }

  /** Answers a leader and its followers now (its deadline passed, or its batch's fate is unknown) but keeps the reservation until it is settled. */
  answerEarly(p: Parked, code: Outcome, stage: Stage): void {
    this.reply(p, code, 0, stage);
    const followers = this.queue.releaseFollowers(p);
    if (followers !== undefined) for (const f of followers) this.reply(f, code, 0, stage);
  }

  /** Never decided (its client left and nobody waits on it): give its unit back. */
  drop(p: Parked): void {
    const soldOut = p.event.release(p);
    this.queue.releaseFollowers(p);
    this.after(p.event, soldOut);
  }

  /** The client went away: never write to it; its slot is freed when it is settled, dropped or leaves the standby line. */
  abandon(p: Parked): void {
    if (!p.done) {
      p.done = true;
      this.queue.live--;
    }
  }

  /** Answers "timeout" to the requests standing by past their deadline. */
  sweep(now: number): void {
    for (const [event, line] of this.standby) {
      for (let p = line[0]; p !== undefined && (p.done || p.deadline <= now); p = line[0]) {
        this.unstand(event);
        this.reply(p, Outcome.Timeout, 0, Stage.Queue);
      }
    }
  }

  /** The events with requests standing by (shutdown: answer them); a copy, as reviewing them changes the map. */
  standing(): SaleEvent[] {
    return [...this.standby.keys()];
  }

  private after(event: SaleEvent, soldOut: boolean): void {
    if (soldOut) this.onSoldOut?.(event);
    if (this.standby.has(event)) this.onFreed?.(event);
  }

  private reply(p: Parked, code: Outcome, order: number, stage: Stage, count = 0): void {
    if (p.answer(code, order, stage, count)) this.queue.live--;
  }
}
