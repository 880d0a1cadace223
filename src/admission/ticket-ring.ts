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

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const t = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return t;
  }
}
