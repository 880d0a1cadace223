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
 *
 * The sale state is read by anyone and changed only through the named
 * methods below (the fields are read-only from outside): reserve/release
 * are called by the Ledger alone, one per request; what Redis said
 * (syncRemaining, learnWinner, soldOut, unitsReturned) by whoever heard it.
 */
export class SaleEvent {
  readonly keys: EventKeys;
  stock: number;
  start: number;
  end: number;
  name: string;
  /** Seconds a winner has to pay; 0: a win is final. */
  payWithin: number;
  private redisRemaining: number;
  private reservedCount = 0;
  private readonly winnerOrders = new Map<string, number>();
  private readonly expiredOrders = new Map<string, number>();
  private readonly queuedLeaders = new Map<string, Parked>();
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
    this.redisRemaining = remaining;
  }

  /** Redis' count of units left, as last heard. */
  get remaining(): number {
    return this.redisRemaining;
  }

  /** Leaders admitted here and not yet decided: each holds one unit of `remaining`. */
  get reserved(): number {
    return this.reservedCount;
  }

  /** Users known to have won here → their order number. */
  get winners(): ReadonlyMap<string, number> {
    return this.winnerOrders;
  }

  /** Users whose order expired unpaid → that order number (no longer winners; they may not buy again). */
  get expired(): ReadonlyMap<string, number> {
    return this.expiredOrders;
  }

  /** Users with a request parked or in flight → that request (its leader). */
  get queued(): ReadonlyMap<string, Parked> {
    return this.queuedLeaders;
  }

  /** A leader admitted (Ledger.reserve): it holds one unit until released. */
  reserve(leader: Parked): void {
    this.reservedCount++;
    this.queuedLeaders.set(leader.user, leader);
  }

  /** A leader decided or dropped (Ledger): its unit goes back to the estimate. */
  release(leader: Parked): void {
    this.reservedCount--;
    if (this.queuedLeaders.get(leader.user) === leader) this.queuedLeaders.delete(leader.user);
  }

  /** Redis' count after a buy script call (here, or the primary's, relayed to a worker). */
  syncRemaining(remaining: number): void {
    this.redisRemaining = remaining;
  }

  /** Redis said `user` won here, or had already (its order number): their next click is answered from memory. */
  learnWinner(user: string, order: number): void {
    this.winnerOrders.set(user, order);
  }

  /** Forgets the known winners (the event was wiped; or a test that wants Redis asked). */
  forgetWinners(): void {
    this.winnerOrders.clear();
  }

  /** Another instance sold the event out. False when this process knew it already. */
  soldOut(): boolean {
    if (this.redisRemaining === 0) return false;
    this.redisRemaining = 0;
    return true;
  }

  define(def: EventDefinition, remaining: number): void {
    this.stock = def.stock;
    this.start = def.start;
    this.end = def.end;
    this.name = def.name;
    this.payWithin = def.payWithin ?? 0;
    this.redisRemaining = remaining;
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
    if (remaining >= 0) this.redisRemaining = remaining;
    for (const { user, order } of expired) {
      this.winnerOrders.delete(user);
      this.expiredOrders.set(user, order);
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
