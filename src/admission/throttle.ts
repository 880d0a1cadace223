/**
 * A per-key rate limit: at most `perSecond` requests per key in each
 * one-second window; past it, the caller answers 5 (busy) without touching
 * the sale. Two are used: per user (SECKILL_USER_RATE) and per client
 * address (SECKILL_IP_RATE, keyed by src/admission/address-key.ts). Aimed at
 * bots clicking thousands of times: a person clicks a few times. A fixed
 * window is one Map lookup per request, and memory is bounded by the keys
 * seen in the current second (the map is dropped when the window turns).
 */
export class Throttle {
  private counts = new Map<string, number>();
  private windowEnd = 0;

  constructor(private readonly perSecond: number) {}

  /** Counts this request; false when its key is over the limit. */
  allow(key: string, now: number): boolean {
    if (now >= this.windowEnd) {
      this.counts = new Map();
      this.windowEnd = now + 1000;
    }
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n <= this.perSecond;
  }
}
