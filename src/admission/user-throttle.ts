/**
 * The optional per-user rate limit (SECKILL_USER_RATE): at most `perSecond`
 * buy requests per user in each one-second window; past it, code 5 (busy)
 * without touching the sale. Aimed at bots clicking thousands of times: a
 * person clicks a few times. A fixed window is one Map lookup per request,
 * and memory is bounded by the users seen in the current second (the map is
 * dropped when the window turns).
 */
export class UserThrottle {
  private counts = new Map<string, number>();
  private windowEnd = 0;

  constructor(private readonly perSecond: number) {}

  /** Counts this request; false when the user is over the limit. */
  allow(user: string, now: number): boolean {
    if (now >= this.windowEnd) {
      this.counts = new Map();
      this.windowEnd = now + 1000;
    }
    const n = (this.counts.get(user) ?? 0) + 1;
    this.counts.set(user, n);
    return n <= this.perSecond;
  }
}
