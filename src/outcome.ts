/**
 * Every answer the server gives has one of these stable codes. The Lua
 * scripts return the same integers (lua/buy-8.lua, lua/payOrder-7.lua), the prefilter and the
 * queue answer with them, and the codec turns them into bytes. The README's
 * "Outcome codes" table is checked against OUTCOMES by test/outcome.test.ts.
 */
export enum Outcome {
  Won = 0,
  SoldOut = 1,
  AlreadyBought = 2,
  NotStarted = 3,
  Ended = 4,
  Busy = 5,
  Timeout = 6,
  UnknownEvent = 7,
  Unauthorized = 8,
  BadRequest = 9,
  Unavailable = 10,
  NoOrder = 11,
  Expired = 12,
  OverLimit = 13,
  Short = 14,
  ChallengeRequired = 15,
  Paused = 16,
}

export interface OutcomeInfo {
  readonly code: Outcome;
  readonly name: string;
  readonly message: string;
  /** The HTTP status it is sent with (BadRequest also goes out as 405/413, see codec). */
  readonly status: number;
}

export const OUTCOMES: readonly OutcomeInfo[] = Object.freeze([
  { code: Outcome.Won, name: 'won', message: 'won: the body carries the order number, and "q" when more than one unit', status: 200 },
  { code: Outcome.SoldOut, name: 'sold_out', message: 'sold out', status: 200 },
  { code: Outcome.AlreadyBought, name: 'already_bought', message: 'already bought (the user holds the event\'s limit): the body carries their last order number', status: 200 },
  { code: Outcome.NotStarted, name: 'not_started', message: 'the sale has not started', status: 200 },
  { code: Outcome.Ended, name: 'ended', message: 'the sale has ended', status: 200 },
  { code: Outcome.Busy, name: 'busy', message: 'queue full: retry later', status: 429 },
  { code: Outcome.Timeout, name: 'timeout', message: 'waited too long in the queue: retry', status: 503 },
  { code: Outcome.UnknownEvent, name: 'unknown_event', message: 'no such event', status: 404 },
  { code: Outcome.Unauthorized, name: 'unauthorized', message: 'missing, invalid or expired token', status: 401 },
  { code: Outcome.BadRequest, name: 'bad_request', message: 'malformed request, body too large, wrong method or unknown route', status: 400 },
  { code: Outcome.Unavailable, name: 'unavailable', message: 'Redis or MySQL unavailable (the admin routes name which): retry', status: 503 },
  { code: Outcome.NoOrder, name: 'no_order', message: 'this user has no order for the event', status: 404 },
  { code: Outcome.Expired, name: 'expired', message: 'the order was not paid in time: its unit went back on sale; the body carries that order number', status: 200 },
  { code: Outcome.OverLimit, name: 'over_limit', message: 'q is more than the user may still buy: the body carries "k", the units they may still buy', status: 200 },
  { code: Outcome.Short, name: 'short', message: 'fewer than q units of that SKU are left: the body carries "n", the units left (a hint); nothing was bought', status: 200 },
  { code: Outcome.ChallengeRequired, name: 'challenge_required', message: 'the event asks for proof of work: the solved ALTCHA challenge was missing, invalid, expired, or another user\'s or event\'s; fetch one (GET /events/{e}/challenge)', status: 403 },
  { code: Outcome.Paused, name: 'paused', message: 'the sale is paused by its operator: retry later', status: 503 },
].map((o) => Object.freeze(o)));

/** One past the highest code: per-outcome counters and tables indexed by code are this long (codes may have gaps). */
export const OUTCOME_COUNT = Math.max(...OUTCOMES.map((o) => o.code)) + 1;

/** The outcome of each code, indexed by code (undefined in a gap). */
export const OUTCOME_BY_CODE: readonly (OutcomeInfo | undefined)[] = Array.from({ length: OUTCOME_COUNT }, (_, code) =>
  OUTCOMES.find((o) => o.code === code),
);
