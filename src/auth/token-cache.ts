export interface Verified {
  readonly user: string;
  readonly expiresMs: number;
}

/**
 * What one cached token costs beyond its characters: the Map slot (about
 * 1.5 slots per entry at V8's load factor), the key string's and the user
 * string's headers, the Verified object and the sliced-string header that
 * points at the request's "Bearer …" string, and the entry's mark. Measured, not guessed:
 * test/token-cache.test.ts fills a cache and compares the heap growth with
 * `bytes`, and fails if this undercounts.
 */
export const ENTRY_OVERHEAD = 264;

interface Entry extends Verified {
  /** Asked for since the eviction hand last passed it (the CLOCK algorithm's reference bit). */
  used: boolean;
}

/**
 * Verified tokens within a memory budget, evicted by CLOCK (second chance):
 * one Map in insertion order and a "hand", one iterator kept across calls.
 * When an entry would pass the budget, the hand walks from the oldest entry:
 * one asked for since the hand last passed it is moved to the end with its
 * mark cleared, any other is dropped. So the cache never holds more than its
 * budget, each step is O(1) amortized, a crowd that fits in the budget never
 * misses after its first round however it cycles, and a token in use is
 * not dropped for ones that are not (the count of N this replaces, in two
 * generations, thrashed as soon as N users clicked in rotation).
 *
 * A fresh `Map.keys().next()` per eviction would not be O(1): V8 leaves
 * deleted slots at the front of its insertion order and a new iterator
 * skips them all (6x slower than no cache at all, seen in the million
 * bench). The kept iterator remembers where it was.
 */
export class TokenCache {
  private readonly map = new Map<string, Entry>();
  private hand: Iterator<[string, Entry]> = this.map.entries();
  private used = 0;
  constructor(readonly budgetBytes: number) {}

  /** The budget for `mib` MiB (0: no cache). */
  static ofMiB(mib: number): TokenCache {
    return new TokenCache(Math.floor(mib * 1024 * 1024));
  }

  /** The estimated bytes one entry costs (strings are one byte a character: tokens are ASCII). */
  static cost(token: string, user: string): number {
    return ENTRY_OVERHEAD + token.length + user.length;
  }

  get(token: string): Verified | undefined {
    const e = this.map.get(token);
    if (e === undefined) return undefined;
    e.used = true;
    return e;
  }

  set(token: string, v: Verified): void {
    const cost = TokenCache.cost(token, v.user);
    if (cost > this.budgetBytes) return;
    const had = this.map.get(token);
    if (had !== undefined) {
      this.map.delete(token);
      this.used -= TokenCache.cost(token, had.user);
    }
    while (this.used + cost > this.budgetBytes) this.evictOne();
    this.map.set(token, { user: v.user, expiresMs: v.expiresMs, used: false });
    this.used += cost;
  }

  /** One step of the hand: drops one entry, or gives one a second chance. */
  private evictOne(): void {
    let next = this.hand.next();
    if (next.done === true) {
      this.hand = this.map.entries();
      next = this.hand.next();
      if (next.done === true) return; // empty: cannot happen while used > 0
    }
    const [token, e] = next.value;
    this.map.delete(token);
    if (e.used) {
      e.used = false;
      this.map.set(token, e);
    } else {
      this.used -= TokenCache.cost(token, e.user);
    }
  }

  get count(): number {
    return this.map.size;
  }

  /** The estimated bytes held now (never above the budget). */
  get bytes(): number {
    return this.used;
  }
}
