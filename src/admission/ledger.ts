import type { Outcome } from '../outcome';
import type { Stage } from '../metrics/decisions';
import { followerOutcome, type Parked } from './parked';
import type { ParkQueue } from './queue';
import type { TicketSink } from './ticket';

/**
 * The one owner of this process's per-request sale state: each event's
 * `reserved` count and `queued` users (through SaleEvent.reserve/release,
 * called from here only), the parked count, and the answers of parked
 * requests (counted once each, by Parked.answer). Admission reserves
 * through it; whatever decides a request (the consumer in this process, or
 * the primary's consumer through a worker link) settles through it, so the
 * counts are changed in one place.
 */
export class Ledger implements TicketSink<Parked> {
  /** Leaders reserved and not yet settled or dropped (kept for a worker, whose leaders are not in the ring). */
  private outstanding = 0;

  constructor(
    readonly queue: ParkQueue,
    /** Leaders go to another process's consumer, not into `queue`'s ring. */
    private readonly remote = false,
  ) {}

  /** No room to park another request: answer 5. */
  get full(): boolean {
    return this.remote ? this.outstanding + this.queue.followers >= this.queue.capacity : this.queue.full;
  }

  /** A leader admitted: it holds one unit of the event's estimate until settled. */
  reserve(p: Parked): void {
    p.event.reserve(p);
    this.outstanding++;
    // In one process the ring counts it when it is pushed.
    if (this.remote) this.queue.live++;
  }

  /** The same user's repeat click while its leader waits: it shares the leader's answer. */
  follow(leader: Parked, follower: Parked): void {
    this.queue.follow(leader, follower);
  }

  /** A leader's outcome is known: drop its reservation, answer it and its followers. */
  settle(p: Parked, code: Outcome, order: number, stage: Stage): void {
    this.release(p);
    this.reply(p, code, order, stage);
    const followers = this.queue.releaseFollowers(p);
    if (followers !== undefined) {
      const fc = followerOutcome(code);
      for (const f of followers) this.reply(f, fc, order, stage);
    }
  }

  /** Answers a leader and its followers now (its deadline passed) but keeps the reservation until it is settled. */
  answerEarly(p: Parked, code: Outcome, stage: Stage): void {
    this.reply(p, code, 0, stage);
    const followers = this.queue.releaseFollowers(p);
    if (followers !== undefined) for (const f of followers) this.reply(f, code, 0, stage);
  }

  /** Never decided (its client left and nobody waits on it): give its unit back. */
  drop(p: Parked): void {
    this.release(p);
    this.queue.releaseFollowers(p);
  }

  /** The client went away: never write to it; its slot is freed when it is settled or dropped. */
  abandon(p: Parked): void {
    if (!p.done) {
      p.done = true;
      this.queue.live--;
    }
  }

  private reply(p: Parked, code: Outcome, order: number, stage: Stage): void {
    if (p.answer(code, order, stage)) this.queue.live--;
  }

  private release(p: Parked): void {
    this.outstanding--;
    p.event.release(p);
  }
}
