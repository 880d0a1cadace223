import { log } from '../log';
import { logRepeated } from '../log-repeat';
import type { RedisClient } from '../redis/scripts';
import { EVENT_ID, eventOfNewsChannel, NEWS_CHANNEL } from '../redis/keys';
import type { Catalog } from './catalog';
import type { SaleEvent } from './sale-event';

/** "The event has nothing left." */
export const SOLD_OUT = 'sold-out';
/** "Re-read the event" (its definition or its count changed another way: a put, a restore). */
export const CHANGED = 'changed';

/**
 * Sale news between instances over Redis sharded pub/sub: "sold out" on the
 * event's own channel (SPUBLISH, so under Cluster it stays on the event's
 * shard), and the id of a new or changed event on one shared channel (an
 * instance must hear of events it does not know yet; a put is rare). The
 * instance whose batch sold an event out says so at once, and every other
 * instance's prefilter (and through it every worker) answers "sold out"
 * from memory instead of asking Redis. The periodic event refresh stays as
 * the fallback for a message missed while a connection was down.
 */
export class EventNews {
  private readonly subscribed = new Set<string>();

  constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly catalog: Catalog,
  ) {
    subscriber.on('smessage', (channel: string, message: string) => this.received(channel, message));
  }

  /**
   * Follows the channel of new and changed events (an instance must hear of
   * an event it does not know yet). Never holds up the start: without news
   * the event refresh still propagates, only slower.
   */
  async start(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), timeoutMs)));
    const r = await Promise.race([this.subscriber.ssubscribe(NEWS_CHANNEL).then(() => 'ok' as const), gaveUp]).catch((err: unknown) => err as Error);
    clearTimeout(timer);
    if (r !== 'ok') log.warn({ err: r === 'late' ? 'no answer' : r.message }, 'sale news unavailable: instances learn of changes at the event refresh');
  }

  /** Follows an event's channel (once). */
  follow(event: SaleEvent): void {
    if (this.subscribed.has(event.id)) return;
    this.subscribed.add(event.id);
    this.subscriber.ssubscribe(event.keys.news).catch((err: unknown) => {
      this.subscribed.delete(event.id);
      logRepeated('warn', { event: event.id, err: (err as Error).message }, 'could not follow the event news: the refresh covers it');
    });
  }

  announce(event: SaleEvent, news: typeof SOLD_OUT | typeof CHANGED): void {
    const [channel, message] = news === SOLD_OUT ? [event.keys.news, SOLD_OUT] : [NEWS_CHANNEL, event.id];
    this.publisher.spublish(channel, message).catch((err: unknown) => {
      logRepeated('warn', { event: event.id, err: (err as Error).message }, 'could not announce event news');
    });
  }

  private received(channel: string, message: string): void {
    if (channel === NEWS_CHANNEL) {
      if (EVENT_ID.test(message)) void this.catalog.load(message).catch(() => undefined);
      return;
    }
    const id = eventOfNewsChannel(channel);
    if (id !== undefined && message === SOLD_OUT) this.catalog.soldOut(id);
  }

  close(): void {
    this.subscriber.disconnect();
  }
}
