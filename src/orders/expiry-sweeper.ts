import type { SaleEvent } from '../events/sale-event';
import { expireDue, type RedisClient } from '../redis/scripts';
import { type ExpiredOrder } from '../sale';
import { logRepeated } from '../log-repeat';

/** How often each process sweeps: an order expires at most this long after its deadline (plus a Redis round trip). */
export const SWEEP_EVERY_MS = 250;
/** Orders per expireDue call; a sweep calls again while calls come back full. */
export const SWEEP_LIMIT = 500;

/** Told of every expiry this process made: the event, Redis' count after it, and the orders. */
export type UnitsReturned = (event: string, remaining: number, expired: readonly ExpiredOrder[]) => void;

/**
 * Expires unpaid orders past their deadline, with or without traffic: every
 * SWEEP_EVERY_MS, one expireDue-6.lua call per event with a payment deadline
 * that has started selling. The script decides, so any number of processes
 * may sweep at once and an order still expires once (and a payment racing
 * it either lands first or is refused). With nothing due a call costs Redis
 * one HMGET, one ZRANGEBYSCORE and one GET; the buy path never waits on it.
 * Sweeps go out on the connection the buys use, so a sweep's count of the
 * units left never arrives after a later buy's.
 */
export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  /** Orders this process expired. */
  expired = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly events: () => Iterable<SaleEvent>,
    private readonly onReturned: UnitsReturned,
    private readonly everyMs = SWEEP_EVERY_MS,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      if (this.sweeping !== undefined || this.redis.status !== 'ready') return;
      this.sweeping = this.sweep(Date.now())
        .then(() => undefined)
        .catch((err: unknown) => logRepeated('warn', { err: (err as Error).message }, 'expiry sweep failed: will retry'))
        .finally(() => (this.sweeping = undefined));
    }, this.everyMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep under way. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  /** One pass over every event with a payment deadline; returns how many orders it expired. */
  async sweep(now: number): Promise<number> {
    let total = 0;
    for (const event of this.events()) {
      if (event.payWithin <= 0 || now < event.start) continue;
      for (;;) {
        const { remaining, expired } = await expireDue(this.redis, event.keys, SWEEP_LIMIT);
        if (expired.length === 0) break;
        total += expired.length;
        this.expired += expired.length;
        this.onReturned(event.id, remaining, expired);
        if (expired.length < SWEEP_LIMIT) break;
      }
    }
    return total;
  }
}
