import type { SaleEvent } from '../events/sale-event';
import type { RedisClient } from '../redis/scripts';
import { firstSoldOut, readHistory, sampleWindow } from './history';

/**
 * When each sale sold out, read from its history (the first sample at 0
 * units left): read once an event's count is 0, or once its window is over,
 * and remembered per sale (its id and start, so the demo started anew is
 * another sale). A sale still selling costs nothing.
 */
export class SoldOutTimes {
  private readonly known = new Map<string, Promise<number | null>>();

  constructor(private readonly redis: RedisClient) {}

  /** Epoch ms of the sample that first saw the sale sold out; null while it has not (or has no history). */
  async of(e: SaleEvent, remaining: number | null, now: number): Promise<number | null> {
    const key = `${e.id}@${e.start}`;
    const known = this.known.get(key);
    if (known !== undefined) return known;
    const over = now > sampleWindow(e).to;
    if (remaining !== 0 && !over) return null;
    const reading = readHistory(this.redis, e).then((samples) => firstSoldOut(samples, e));
    // Remembered once found, or once nothing more can come; otherwise asked again at the next tick.
    this.known.set(key, reading);
    let at: number | null;
    try {
      at = await reading;
    } catch {
      this.known.delete(key);
      return null;
    }
    if (at === null && !over) this.known.delete(key);
    return at;
  }

  /** Forgets the sales no longer listed. */
  keepOnly(events: readonly SaleEvent[]): void {
    const live = new Set(events.map((e) => `${e.id}@${e.start}`));
    for (const key of this.known.keys()) if (!live.has(key)) this.known.delete(key);
  }
}
