import { Cluster } from 'ioredis';
import { eventKeys, eventOfMetaKey, META_PATTERN } from '../redis/keys';
import { putEvent, PutEventResult, type EventDefinition, type RedisClient } from '../redis/scripts';
import { SaleEvent } from './sale-event';
import type { EventStore } from './event-store';
import { log } from '../log';

/**
 * The events this process serves. MySQL's `events` table is the source of
 * truth (when there is one): a put writes it and Redis in one step, and at
 * start every event not yet ended is warmed into Redis from it. Redis is
 * re-read every `refreshMs` (another server may have created an event). The
 * prefilter reads the catalog with a Map lookup.
 */
export class Catalog {
  private readonly events = new Map<string, SaleEvent>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly store?: EventStore,
    /** The persister and tools do not need the per-user winners. */
    private readonly withWinners = true,
  ) {}

  get(id: string): SaleEvent | undefined {
    return this.events.get(id);
  }

  all(): IterableIterator<SaleEvent> {
    return this.events.values();
  }

  /**
   * Creates or changes an event: MySQL row and Redis in one step (the row is
   * rolled back when the Redis script refuses the change).
   */
  async put(id: string, def: EventDefinition): Promise<{ result: PutEventResult; event: SaleEvent }> {
    if (this.store === undefined) return this.putRedis(id, def);
    const conn = await this.store.pool.getConnection();
    try {
      await conn.beginTransaction();
      await this.store.save(conn, id, def);
      const outcome = await this.putRedis(id, def);
      if (outcome.result === PutEventResult.Started) await conn.rollback();
      else await conn.commit();
      return outcome;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  /**
   * Puts every event MySQL has that has not ended into Redis, idempotently. An
   * event Redis lost (a new or emptied Redis) gets its stored orders back as
   * buyers and its remaining stock lowered by them, so it can never sell a
   * unit twice.
   */
  async warmFromStore(now: number): Promise<number> {
    if (this.store === undefined) return 0;
    const events = await this.store.notEnded(now);
    for (const e of events) {
      const keys = eventKeys(e.id);
      const { result } = await putEvent(this.redis, keys, e);
      if (result === PutEventResult.Created) {
        const orders = await this.store.orders(e.id);
        if (orders.size > 0) {
          let flat: (string | number)[] = [];
          for (const [user, order] of orders) {
            flat.push(user, order);
            if (flat.length >= 2000) {
              await this.redis.hset(keys.buyers, ...flat);
              flat = [];
            }
          }
          if (flat.length > 0) await this.redis.hset(keys.buyers, ...flat);
          await this.redis.set(keys.stock, Math.max(0, e.stock - orders.size));
          log.warn({ event: e.id, orders: orders.size }, 'event restored into Redis from MySQL orders');
        }
      } else if (result === PutEventResult.Started) {
        log.warn({ event: e.id }, "Redis holds another definition of a running event; keeping Redis's");
      }
    }
    return events.length;
  }

  private async putRedis(id: string, def: EventDefinition): Promise<{ result: PutEventResult; event: SaleEvent }> {
    const { result, remaining } = await putEvent(this.redis, eventKeys(id), def);
    if (result === PutEventResult.Started) {
      return { result, event: (await this.load(id)) ?? new SaleEvent(id, def, remaining) };
    }
    return { result, event: this.upsert(id, def, remaining) };
  }

  private upsert(id: string, def: EventDefinition, remaining: number): SaleEvent {
    const existing = this.events.get(id);
    if (existing !== undefined) {
      existing.define(def, remaining);
      return existing;
    }
    const event = new SaleEvent(id, def, remaining);
    this.events.set(id, event);
    return event;
  }

  /** Reads one event from Redis; a new one also gets its known winners. */
  async load(id: string): Promise<SaleEvent | undefined> {
    const keys = eventKeys(id);
    const [meta, stock] = await Promise.all([
      this.redis.hmget(keys.meta, 'stock', 'start', 'end', 'name'),
      this.redis.get(keys.stock),
    ]);
    const [units, start, end, name] = meta;
    if (units === null || units === undefined || start == null || end == null) return undefined;
    const isNew = !this.events.has(id);
    const event = this.upsert(
      id,
      { stock: Number(units), start: Number(start), end: Number(end), name: name ?? '' },
      Number(stock ?? 0),
    );
    if (isNew && this.withWinners) await this.loadWinners(event);
    return event;
  }

  /** After a restart, winners re-clicking get "already bought" without Redis. */
  private async loadWinners(event: SaleEvent): Promise<void> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(event.keys.buyers, cursor, 'COUNT', 1000);
      for (let i = 0; i + 1 < flat.length; i += 2) event.winners.set(flat[i] as string, Number(flat[i + 1]));
      cursor = next;
    } while (cursor !== '0');
  }

  /** Loads every event in Redis (every master of a Cluster). */
  async refresh(): Promise<void> {
    const nodes = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', META_PATTERN, 'COUNT', 1000);
        for (const key of keys) {
          const id = eventOfMetaKey(key);
          if (id !== undefined) await this.load(id);
        }
        cursor = next;
      } while (cursor !== '0');
    }
  }

  startRefreshing(everyMs: number): void {
    this.timer = setInterval(() => {
      if (this.redis.status !== 'ready') return;
      this.refresh().catch((err: unknown) => log.warn({ err }, 'event refresh failed'));
    }, everyMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}
