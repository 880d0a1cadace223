import type { Ticket, TicketLine } from './ticket';

/** A bounded ring of tickets in arrival order: the base of the ParkQueue. */
export class TicketRing<T extends Ticket> implements TicketLine<T> {
  protected readonly ring: (T | undefined)[];
  protected head = 0;
  protected count = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<T | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  push(t: T): void {
    this.ring[(this.head + this.count) % this.capacity] = t;
    this.count++;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.ring[this.head];
  }

  /** Takes out every ticket `pred` picks, keeping the others in their order (O(size): a pause, not a buy). */
  extract(pred: (t: T) => boolean): T[] {
    const taken: T[] = [];
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      const t = this.ring[(this.head + i) % this.capacity] as T;
      if (pred(t)) taken.push(t);
      else this.ring[(this.head + kept++) % this.capacity] = t;
    }
    for (let i = kept; i < this.count; i++) this.ring[(this.head + i) % this.capacity] = undefined;
    this.count = kept;
    return taken;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const t = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return t;
  }
}
