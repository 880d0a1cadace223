import { Outcome } from '../outcome';
import type { SaleEvent } from '../events/sale-event';

/** The same user already waits: attach to that request and share its answer. */
export const FOLLOW = -1;
/** Could still win: reserve a unit and queue it. */
export const QUEUE = -2;
/** Units are left, but every one is claimed by an undecided request: wait behind them (never "sold out" while units remain). */
export const WAIT = -3;

export type Decision = Outcome | typeof FOLLOW | typeof QUEUE | typeof WAIT;

/**
 * The in-process checks, O(1), no I/O, in this order: sale window, paused, user
 * already won here (2 with the order number; with a payment deadline only
 * until it may have passed), user already queued (follow that request), a
 * draw at the opening not yet decided (queue: the consumer enters it), a
 * winner past their deadline or a user whose order expired (queue: Redis
 * answers 2, or 12 with that order number), Redis' count 0 (1 when every buyer is known here,
 * else queue: Redis answers 1 or 2), every unit left claimed by undecided
 * requests (wait behind them), else queue.
 *
 * "Already queued" comes before the stock estimate (the first design listed it
 * after): a queued user's own reservation is part of what makes the estimate
 * zero, so answering their repeat click "sold out" would be wrong; it gets
 * the first request's answer instead ("already bought" with the order number
 * when that one won).
 */
export function prefilter(event: SaleEvent, user: string, now: number, q = 1, sku = 0): Decision {
  if (now < event.start) return Outcome.NotStarted;
  if (now >= event.end) return Outcome.Ended;
  // Paused by its operator: no unit is decided, whoever asks (Redis answers 16 too).
  if (event.paused) return Outcome.Paused;
  if (event.lots) return prefilterLots(event, user, now, q, sku);
  if (event.boughtFor(user, now)) return Outcome.AlreadyBought;
  if (event.queued.has(user)) return FOLLOW;
  // A draw at the opening not yet decided: every buy goes to it (entered while its window is open, else decided after it).
  if (event.drawPending) return QUEUE;
  // A winner whose payment deadline may have passed: Redis says paid or not yet swept (2) or expired (12).
  if (event.winners.has(user)) return QUEUE;
  // An expired order's user gets "expired" (12) with that order number from Redis, sold out or not.
  if (event.expired.has(user)) return QUEUE;
  // "Sold out" is final: only when Redis has nothing left and this user is known not to be a buyer.
  if (event.remaining <= 0) return event.winnersComplete ? Outcome.SoldOut : QUEUE;
  if (event.available <= 0) return WAIT;
  return QUEUE;
}

/**
 * The same checks for an event sold in lots (a limit above 1, or SKUs), in
 * units: the user's units as this process heard them (Redis may hold more,
 * never fewer: expired orders' units still count) against the limit (2 at
 * the limit, 13 past it), a draw at the opening not yet decided (queue: the
 * consumer enters it), then the SKU's count as last heard (1 at 0, 14
 * below q: both statements about the SKU stay true whoever asks), then the
 * units of the SKU claimed by undecided requests (wait behind them). A
 * user's second request while the first is undecided is queued too, not
 * made a follower: it is another order. A user whose order expired, or one
 * at the limit whose payment deadline may have passed, goes to Redis
 * (2 or 12). Admission works out 13's and 14's counts (lotsCount).
 */
function prefilterLots(event: SaleEvent, user: string, now: number, q: number, sku: number): Decision {
  const held = event.heldBy(user);
  if (held >= event.limit) return event.boughtFor(user, now) && !event.expired.has(user) ? Outcome.AlreadyBought : QUEUE;
  if (held + q > event.limit) return Outcome.OverLimit;
  // A draw at the opening not yet decided (never with SKUs): the buy enters it, whatever the estimate says.
  if (event.drawPending) return QUEUE;
  const left = event.skuRemaining(sku);
  if (left <= 0) return Outcome.SoldOut;
  if (left < q) return Outcome.Short;
  if (event.skuAvailable(sku) < q) return WAIT;
  return QUEUE;
}

/** The count a lots answer from memory carries: 13's units the user may still buy, 14's units left; else 0. */
export function lotsCount(event: SaleEvent, decision: Decision, user: string, sku: number): number {
  if (decision === Outcome.OverLimit) return event.limit - event.heldBy(user);
  if (decision === Outcome.Short) return event.skuRemaining(sku);
  return 0;
}
