import type { Config } from '../config';
import { Catalog } from '../events/catalog';
import type { EventStore } from '../events/event-store';
import { CHANGED, EventNews } from '../events/news';
import type { RedisClient } from '../redis/scripts';
import { connectConfiguredRedis } from '../services/redis-connect';
import type { Shutdown } from './shutdown';

/** What every process of a server keeps of the sale: its Redis connection, its catalog of events, the sale news. */
export interface SaleState {
  readonly redis: RedisClient;
  readonly catalog: Catalog;
  readonly news: EventNews;
}

/** Closes a connection: quit() waits for a reply that a Redis that is away never sends. */
export async function closeRedis(r: RedisClient): Promise<void> {
  if (r.status === 'ready') await r.quit().catch(() => r.disconnect());
  else r.disconnect();
}

/**
 * Connects to Redis, follows the sale news (sharded pub/sub: other processes'
 * sell-outs, puts and restores), and reads every event (with its winners when
 * `withWinners`: a front must know them before it answers from memory).
 */
export async function startSaleState(config: Config, redisTarget: string, store: EventStore | undefined, shutdown: Shutdown, withWinners = true): Promise<SaleState> {
  const redis = await connectConfiguredRedis(config, redisTarget, config.redisTimeoutMs);
  shutdown.add('redis', () => closeRedis(redis));
  const catalog = new Catalog(redis, store, withWinners);
  const subscriber = await connectConfiguredRedis(config, redisTarget, config.redisTimeoutMs, 'seckill-news', true);
  const news = new EventNews(redis, subscriber, catalog);
  shutdown.add('sale news', () => news.close());
  await news.start(config.redisTimeoutMs * 4);
  catalog.watchers.add((event) => news.follow(event));
  catalog.announce = (event) => news.announce(event, CHANGED);
  shutdown.add('catalog', () => catalog.close());
  return { redis, catalog, news };
}
