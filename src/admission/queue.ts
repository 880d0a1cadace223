import type { Parked } from './parked';
import type { TicketLine } from './ticket';

/**
 * The fan-in queue between the HTTP handlers and the one consumer: a ring of
 * parked leaders in arrival order, bounded together with their followers by
 * `capacity`. It only stores; the consumer decides.
 */
export class ParkQueue implements TicketLine<Parked> {
  private readonly ring: (Parked | undefined)[];
  private head = 0;
  private count = 0;
  /** Followers attached to leaders that are queued or in flight. */
  followers = 0;
  /** Parked requests not yet answered and whose client is still there. */
  live = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<Parked | undefined>(capacity).fill(undefined);
  }

  /** Leaders waiting (not yet sent to Redis). */
  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count + this.followers >= this.capacity;
  }

  push(p: Parked): void {
    this.ring[(this.head + this.count) % this.capacity] = p;
    this.count++;
    this.live++;
  }

  peek(): Parked | undefined {
    return this.count === 0 ? undefined : this.ring[this.head];
  }

  shift(): Parked | undefined {
    if (this.count === 0) return undefined;
    const p = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return p;
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
