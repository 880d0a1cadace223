import type { Parked } from './parked';
import { TicketRing } from './ticket-ring';

/**
 * The fan-in queue between the HTTP handlers and the one consumer: a ring of
 * parked leaders in arrival order, bounded together with their followers by
 * `capacity`. It only stores; the consumer decides.
 */
export class ParkQueue extends TicketRing<Parked> {
  /** Followers attached to leaders that are queued or in flight. */
  followers = 0;
  /** Requests waiting behind the undecided ones for a unit to come free (Ledger.stand). */
  standing = 0;
  /** Parked requests not yet answered and whose client is still there. */
  live = 0;

  /** Leaders waiting, their followers and the requests standing by share the capacity. */
  override get full(): boolean {
    return this.count + this.followers + this.standing >= this.capacity;
  }

  override push(p: Parked): void {
    super.push(p);
    this.live++;
  }

  follow(leader: Parked, follower: Parked): void {
    (leader.followers ??= []).push(follower);
    this.followers++;
    this.live++;
  }

  /** Detaches a leader's followers (they are being answered with it). */
  releaseFollowers(leader: Parked): Parked[] | undefined {
    const f = leader.followers;
    if (f !== undefined) {
      this.followers -= f.length;
      leader.followers = undefined;
    }
    return f;
  }
}
