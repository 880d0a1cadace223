import { createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * The draw at the opening, as anyone can compute it (the server to enter
 * users, `seckill draw verify` to check a published draw):
 *
 * - seed: 32 random bytes, chosen when the event is defined, published as
 *   its SHA-256 (the commit) at once and itself once the draw is decided;
 * - entrant key: SHA-256 hex of the user id (UTF-8);
 * - score: HMAC-SHA256 with the seed's 32 bytes as key over the entrant key's
 *   64 hex characters, as hex;
 * - the decision: entrants in ascending score take their units in that
 *   order, each all it asked or nothing, until the stock is gone.
 *
 * Lowercase hex strings of equal length order as the numbers they write, so
 * "ascending score" is the strings' order, which is also Redis' order of the
 * `draw` zset's members (lua/drawDecide-9.lua).
 */

/** 32 random bytes as 64 hex digits. */
export function newSeed(): string {
  return randomBytes(32).toString('hex');
}

/** The seed's commit: SHA-256 hex of its 32 bytes. */
export function commitOf(seed: string): string {
  return createHash('sha256').update(Buffer.from(seed, 'hex')).digest('hex');
}

/** The entrant key of a user: SHA-256 hex of the user id. */
export function entrantKey(user: string): string {
  return createHash('sha256').update(user, 'utf8').digest('hex');
}

/** The entrant's score: HMAC-SHA256(key = the seed's bytes, message = the entrant key), hex. */
export function drawScore(seed: string, key: string): string {
  return createHmac('sha256', Buffer.from(seed, 'hex')).update(key, 'utf8').digest('hex');
}

/** A seed as the scripts and the store hold it. */
export const SEED_SHAPE = /^[0-9a-f]{64}$/;

/** One entrant as `GET /events/{e}/draw` publishes it. */
export interface PublishedEntrant {
  readonly key: string;
  readonly asked: number;
  readonly won: number;
}

/**
 * The draw's result recomputed: entrant key → units won, taking `stock`
 * units in ascending score. The reference the verifier checks a published
 * draw against (and the tests the server's decision).
 */
export function allocate(seed: string, stock: number, entrants: readonly { key: string; asked: number }[]): Map<string, number> {
  const ordered = entrants.map((e) => ({ ...e, score: drawScore(seed, e.key) })).sort((a, b) => (a.score < b.score ? -1 : a.score > b.score ? 1 : 0));
  const won = new Map<string, number>();
  let left = stock;
  for (const e of ordered) {
    const take = e.asked > 0 && e.asked <= left ? e.asked : 0;
    left -= take;
    won.set(e.key, take);
  }
  return won;
}
