import { AnswerCounts } from '../metrics/decisions';
import { eventKeys, type EventKeys } from '../redis/keys';
import type { EventDefinition } from '../redis/scripts';
import type { Parked } from '../admission/parked';

/**
 * One sale as this process sees it: its definition, and the prefilter's local
 * state. `remaining` is Redis' count as of the last answer from Redis;
 * `reserved` counts requests admitted and not yet decided. Their difference
 * is an upper bound on what this process can still sell, so "sold out" is
 * only answered locally when Redis has nothing left or every remaining unit
 * is claimed by a request in flight.
 */
export class SaleEvent {
  readonly keys: EventKeys;
  stock: number;
  start: number;
  end: number;
  name: string;
  /** Seconds a winner has to pay; 0: a win is final. */
  payWithin: number;
  remaining: number;
  reserved = 0;
  /** Users known to have won here → their order number. */
  readonly winners = new Map<string, number>();
  /** Users whose order expired unpaid → that order number (no longer winners; they may not buy again). */
  readonly expired = new Map<string, number>();
  /** Users with a request parked or in flight → that request. */
  readonly queued = new Map<string, Parked>();
  /** Answers given by this process, by stage and outcome. */
  readonly answers = new AnswerCounts();
  /** How many expired orders Redis had when `winners` was last brought in line with them (see Catalog.load). */
  expiredSeen = 0;

  constructor(
    readonly id: string,
    def: EventDefinition,
    remaining: number,
  ) {
    this.keys = eventKeys(id);
    this.stock = def.stock;
    this.start = def.start;
    this.end = def.end;
    this.name = def.name;
    this.payWithin = def.payWithin ?? 0;
    this.remaining = remaining;
  }

  define(def: EventDefinition, remaining: number): void {
    this.stock = def.stock;
    this.start = def.start;
    this.end = def.end;
    this.name = def.name;
    this.payWithin = def.payWithin ?? 0;
    this.remaining = remaining;
  }

  /**
   * Orders expired and their units went back on sale: `remaining` is Redis'
   * count after it (an estimate that said "sold out" sells again), and the
   * expired users move from the local winners to `expired`: the prefilter
   * sends their next buy to Redis, whatever the local estimate says, and
   * Redis answers "expired" (12) with their old order number. A count
   * from Redis that is already stale only makes the estimate high for a
   * moment: Redis decides every sale.
   */
  unitsReturned(remaining: number, expired: Iterable<{ readonly user: string; readonly order: number }>): void {
    if (remaining >= 0) this.remaining = remaining;
    for (const { user, order } of expired) {
      this.winners.delete(user);
      this.expired.set(user, order);
    }
  }

  /** Units this process may still admit requests for. */
  get available(): number {
    return this.remaining - this.reserved;
  }

  state(now: number): 'scheduled' | 'open' | 'ended' {
    return now < this.start ? 'scheduled' : now < this.end ? 'open' : 'ended';
  }
}
