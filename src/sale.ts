/**
 * The sale's domain types, below every layer (docs/ARCHITECTURE.md): what an
 * event is, what putting one can come to, and an expired order. The Redis
 * scripts, the catalog, MySQL's store and the admin route all speak them.
 */

/** What putEvent-4.lua did with a definition (its return code). */
export enum PutEventResult {
  Created = 1,
  Updated = 2,
  Unchanged = 3,
  /** Refused: the event has buyers (or has granted an order), and the definition differs. */
  HasBuyers = 4,
  /** A restore from MySQL is under way: retry. */
  Restoring = 5,
}

/** An event as defined by its operator. */
export interface EventDefinition {
  readonly stock: number;
  readonly start: number;
  readonly end: number;
  readonly name: string;
  /** Seconds a winner has to pay (POST …/orders/{n}/paid) before the order expires; 0 or absent: a win is final. */
  readonly payWithin?: number;
}

/** An event's pause switch (lua/pauseEvent-2.lua), as Redis and MySQL keep it. */
export interface PauseState {
  /** Epoch ms (Redis' clock) the current pause began; 0: the sale is not paused. */
  readonly since: number;
  /** Ms paused in all, over the pauses that ended. */
  readonly pausedMs: number;
  /** How many times the sale was paused. */
  readonly pauses: number;
}

export const NOT_PAUSED: PauseState = Object.freeze({ since: 0, pausedMs: 0, pauses: 0 });

/** One order expireDue took out of `due`. */
export interface ExpiredOrder {
  readonly order: number;
  readonly user: string;
}
