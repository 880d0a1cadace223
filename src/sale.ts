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
  /** Units one user may hold in the event, over all their orders and SKUs (1-100); absent: 1. */
  readonly limit?: number;
  /** Each SKU's stock, in the operator's order (ids `[A-Za-z0-9_-]{1,32}`); absent: no SKUs. `stock` is their sum. */
  readonly skus?: Readonly<Record<string, number>>;
}

/**
 * An event with a limit above 1 or SKUs sells in lots (lua/buyLots-8.lua:
 * quantities, units per user, a stock per SKU); one with limit 1 and no
 * SKUs keeps the one-unit fast path (lua/buy-8.lua), unchanged.
 */
export function sellsLots(def: EventDefinition): boolean {
  return (def.limit ?? 1) > 1 || def.skus !== undefined;
}

/** The SKUs as the scripts and MySQL keep them: `red:500,blue:300` in the definition's order; '' when none. */
export function skuText(def: EventDefinition): string {
  return def.skus === undefined ? '' : Object.entries(def.skus).map(([id, n]) => `${id}:${n}`).join(',');
}

/** The inverse of skuText; undefined for ''. */
export function parseSkuText(text: string | null | undefined): Record<string, number> | undefined {
  if (text == null || text === '') return undefined;
  const skus: Record<string, number> = {};
  for (const part of text.split(',')) {
    const at = part.lastIndexOf(':');
    skus[part.slice(0, at)] = Number(part.slice(at + 1));
  }
  return skus;
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
