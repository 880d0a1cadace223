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
  /** Proof of work (ALTCHA) each buyer must show before a buy is admitted; absent: none. */
  readonly pow?: PowDifficulty;
  /** The draw at the opening: buys in the first `drawMs` ms after the start enter a draw decided at its close; 0 or absent: none. */
  readonly drawMs?: number;
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

/** Key derivations an event's proof of work may use: those the ALTCHA widget bundles and altcha-lib verifies on Node 20. */
export const POW_ALGORITHMS = Object.freeze(['PBKDF2/SHA-256', 'PBKDF2/SHA-384', 'PBKDF2/SHA-512', 'SHA-256', 'SHA-384', 'SHA-512'] as const);
export type PowAlgorithm = (typeof POW_ALGORITHMS)[number];

/**
 * The difficulty of an event's ALTCHA challenges (PoW v2, altcha-lib's
 * default): the client tries counters from 0 until one derives the key the
 * server derived for a secret counter drawn from `counter`, each try costing
 * `cost` rounds of `algorithm`. Expected work: cost × (min + max) / 2 rounds.
 */
export interface PowDifficulty {
  readonly algorithm: PowAlgorithm;
  readonly cost: number;
  /** [min, max] of the secret counter. */
  readonly counter: readonly [number, number];
}

/**
 * An event's proof of work as Redis' meta and MySQL's `events.pow` keep it:
 * JSON with its keys in one order, so the same difficulty is the same text
 * (putEvent-4.lua compares it); '' for none.
 */
export function powText(pow: PowDifficulty | undefined): string {
  if (pow === undefined) return '';
  return JSON.stringify({ algorithm: pow.algorithm, cost: pow.cost, counter: [pow.counter[0], pow.counter[1]] });
}

/**
 * An event's draw (lua/drawEnter-4.lua, lua/drawDecide-9.lua), as Redis and
 * MySQL keep it. The seed is chosen when the event is defined and kept
 * secret until the draw is decided.
 */
export interface DrawState {
  /** 32 random bytes, as 64 hex digits ('' for an event defined before draws existed). */
  readonly seed: string;
  /** Epoch ms (Redis' clock) the draw was decided; 0: not yet. */
  readonly decided: number;
  /** Entrants counted at the decision. */
  readonly entrants: number;
  /** Units left when the draw was decided (what the entrants shared). */
  readonly stock: number;
}

export const NO_DRAW: DrawState = Object.freeze({ seed: '', decided: 0, entrants: 0, stock: 0 });

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
