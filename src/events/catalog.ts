import { Cluster } from 'ioredis';
import { eventKeys, eventOfMetaKey, META_PATTERN } from '../redis/keys';
import { putEvent, PutEventResult, type EventDefinition, type RedisClient } from '../redis/scripts';
import { SaleEvent } from './sale-event';
import { log } from '../log';

/**
 * The events this process serves, read from Redis at start and every
 * `refreshMs` (another server may have created one), and written through
 * the putEvent script. The prefilter reads it with a Map lookup.
 */
export class Catalog {
  private readonly events = new Map<string, SaleEvent>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly redis: RedisClient) {}

  get(id: string): SaleEvent | undefined {
    return this.events.get(id);
  }

  all(): IterableIterator<SaleEvent> {
    return this.events.values();
  }

  async put(id: string, def: EventDefinition): Promise<{ result: PutEventResult; event: SaleEvent }> {
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
    if (isNew) await this.loadWinners(event);
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
      this.refresh().catch((err: unknown) => log.warn('event refresh failed', { err }));
    }, everyMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}
