import { Outcome } from '../outcome';
import { Cluster, type Redis } from 'ioredis';
import { eventKeys, eventOfMetaKey, META_PATTERN } from '../redis/keys';
import type { PoolConnection } from 'mysql2/promise';
import { pauseEvent, PauseResult, putEvent, type PauseOutcome, type RedisClient } from '../redis/scripts';
import { parseSkuText, PutEventResult, type DrawState, type EventDefinition, type ExpiredOrder } from '../sale';
import { parseHolding } from '../redis/lots';
import { readPow } from './definition';
import { newSeed, SEED_SHAPE } from './draw';
import { readDrawList } from './draw-list';
import { SaleEvent } from './sale-event';
import type { EventStore, StoredEvent } from './event-store';
import { RESTORE_LEASE_MS, restoreFromStore } from './restore';
import { log } from '../log';
import { logRepeated } from '../log-repeat';

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
  /** Reads of every buyer under way (completeWinners), by event id. */
  private readonly completing = new Set<string>();
  /** Decided draws (`event/seed`) this process has made sure MySQL holds, or is writing there (keepDraw). */
  private readonly drawsKept = new Set<string>();
  /** Restores under way in this process, by event id. */
  private readonly restoring = new Map<string, Promise<void>>();
  /** Events lost from Redis with no MySQL to restore them from (logged once). */
  private readonly unrestorable = new Set<string>();
  /** Told whenever an event is defined, re-read or sold out (the front re-decides its standbys and pushes; the news follows it). */
  readonly watchers = new Set<(event: SaleEvent) => void>();
  /**
   * Some event known here has asked for proof of work (it stays true): until
   * then the transports do not even read a buy's solution.
   */
  powInUse = false;
  /** Told when this process changed an event's definition or restored it: other instances re-read it. */
  announce: ((event: SaleEvent) => void) | undefined;

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
   * rolled back when the Redis script refuses the change). The row is locked
   * first; if Redis lost the event, it is restored from MySQL before the
   * put, so an identical put after a loss finds the sale as it was.
   */
  async put(id: string, def: EventDefinition): Promise<{ result: PutEventResult; event: SaleEvent }> {
    const outcome = await this.putStored(id, def);
    if (outcome.result === PutEventResult.Created || outcome.result === PutEventResult.Updated) this.announce?.(outcome.event);
    return outcome;
  }

  private putStored(id: string, def: EventDefinition): Promise<{ result: PutEventResult; event: SaleEvent }> {
    if (this.store === undefined) return this.putRedis(id, def);
    const store = this.store;
    return (this.store as EventStore).inLockedTransaction(async (conn) => {
      const stored = await store.lock(conn, id);
      if (stored !== undefined) await this.restoreLocked(conn, stored);
      await store.save(conn, id, def);
      const outcome = await this.putRedis(id, def, stored?.draw.seed);
      const keep = outcome.result !== PutEventResult.HasBuyers && outcome.result !== PutEventResult.Restoring;
      // The seed Redis holds (kept, or the new one): MySQL keeps the same, for a restore.
      if (keep && outcome.seed !== stored?.draw.seed) await store.saveSeed(conn, id, outcome.seed);
      return [outcome, keep];
    });
  }

  /**
   * At start: every event MySQL has that has not ended is restored into
   * Redis if Redis lacks it (a new or emptied Redis); one Redis has is left
   * as it is.
   */
  async warmFromStore(now: number): Promise<number> {
    if (this.store === undefined) return 0;
    const events = await this.store.notEnded(now);
    for (const e of events) await this.restore(e.id);
    return events.length;
  }

  /**
   * Restores an event Redis lost, from MySQL (see events/restore.ts): called
   * when the buy script answers "unknown" for an event this process knows,
   * when the refresh finds it gone, and at start. One restore per event at a
   * time in this process; across processes the row lock and the Redis lease
   * keep it to one. Buys answer 10 until it is done. Without MySQL there is
   * nothing to restore from: the event stays unavailable until it is put again.
   */
  restore(id: string): Promise<void> {
    const running = this.restoring.get(id);
    if (running !== undefined) return running;
    if (this.store === undefined) {
      // The standalone tools (persister, reconcile) read events only: restoring is the servers' job.
      if (!this.withWinners) return Promise.resolve();
      if (!this.unrestorable.has(id)) {
        this.unrestorable.add(id);
        log.error({ event: id }, 'Redis lost this event and there is no MySQL to restore it from: put it again');
      }
      return Promise.resolve();
    }
    const store = this.store;
    const p = (this.store as EventStore).inLockedTransaction(async (conn) => {
      const stored = await store.lock(conn, id);
      if (stored !== undefined) await this.restoreLocked(conn, stored);
      return [undefined, true];
    })
      .catch((err: unknown) => logRepeated('warn', { event: id, err: (err as Error).message }, 'restore from MySQL failed: will retry'))
      .finally(() => this.restoring.delete(id));
    this.restoring.set(id, p);
    return p;
  }

  private async restoreLocked(conn: PoolConnection, stored: StoredEvent): Promise<void> {
    if (this.store === undefined) return;
    const started = Date.now();
    const outcome = await restoreFromStore(this.redis, this.store, conn, stored);
    if (outcome.state !== 'restored') return;
    this.unrestorable.delete(stored.id);
    this.upsert(stored.id, stored, outcome.remaining);
    // The restored state has a new incarnation: the winners known before the loss are forgotten and read anew.
    const event = (await this.load(stored.id)) ?? this.events.get(stored.id);
    if (event !== undefined) this.announce?.(event);
    log.warn(
      { event: stored.id, orders: outcome.orders, remaining: outcome.remaining, ms: Date.now() - started },
      'event restored into Redis from MySQL',
    );
  }

  /**
   * The put in Redis. `storedSeed` is MySQL's seed for the event, offered as
   * the new one (Redis keeps its own unless it has none or revealed it), so
   * an event Redis lost keeps the seed whose commit was published.
   */
  private async putRedis(id: string, def: EventDefinition, storedSeed?: string): Promise<{ result: PutEventResult; event: SaleEvent; seed: string }> {
    const offered = storedSeed !== undefined && SEED_SHAPE.test(storedSeed) ? storedSeed : newSeed();
    const { result, remaining, seed } = await putEvent(this.redis, eventKeys(id), def, offered);
    if (result === PutEventResult.HasBuyers || result === PutEventResult.Restoring) {
      return { result, event: (await this.load(id)) ?? new SaleEvent(id, def, remaining), seed };
    }
    // A changed definition may have reset a decided draw (a new seed): read it back whole.
    const event = (await this.load(id).catch(() => undefined)) ?? this.upsert(id, def, remaining);
    return { result, event, seed };
  }

  /** `pausedSince` as read from Redis (0: not paused); undefined leaves the switch (and `draw` the draw) as it was. */
  private upsert(id: string, def: EventDefinition, remaining: number, pausedSince?: number, draw?: DrawState): SaleEvent {
    if (def.pow !== undefined) this.powInUse = true;
    let event = this.events.get(id);
    if (event !== undefined) event.define(def, remaining);
    else this.events.set(id, (event = new SaleEvent(id, def, remaining)));
    if (pausedSince !== undefined) event.pause(pausedSince);
    // A decision this process heard from a script is never taken back by an older read (a put resets it: its seed changes).
    if (draw !== undefined && (draw.decided > 0 || draw.seed !== event.draw.seed || event.draw.decided === 0)) event.learnDraw(draw);
    for (const w of this.watchers) w(event);
    return event;
  }

  /**
   * Pauses (`on`) or resumes an event's sale, under the MySQL row's lock (a
   * restore later puts the switch back); an event Redis lost is restored
   * first, as for a put. A pause goes to the row, then to Redis
   * (lua/pauseEvent-2.lua: from that call on no unit is decided), then Redis'
   * values to the row; a resume to Redis, then the row. So a failed call
   * never leaves the row "running" while Redis is paused (a restore would
   * reopen the sale), short of a crash or a failed commit in the
   * milliseconds after Redis paused. Every process hears it through the
   * event news and re-reads the event (this one at once): their buys,
   * parked ones included, answer 16 until it resumes.
   */
  async pause(id: string, on: boolean): Promise<PauseOutcome> {
    const outcome = this.store === undefined ? await this.pauseRedis(id, on) : await this.pauseStored(this.store, id, on);
    if (outcome.result === PauseResult.Unknown) return outcome;
    // The switch is set (and kept): a re-read failing now (Redis stalled just after) must not answer the call 503.
    // This process takes the switch from the script's answer instead; the others hear 16 from Redis, or the refresh.
    const event = await this.load(id).catch((err: unknown) => {
      logRepeated('warn', { event: id, err: (err as Error).message }, 'could not re-read the event after its pause or resume');
      const known = this.events.get(id);
      if (known !== undefined) {
        known.pause(outcome.since);
        for (const w of this.watchers) w(known);
      }
      return known;
    });
    if (outcome.result === PauseResult.Done && event !== undefined) {
      this.announce?.(event);
      if (on) log.warn({ event: id, orders: outcome.orders, pauses: outcome.pauses }, 'sale paused: no unit is decided until it is resumed');
      else log.warn({ event: id, pausedForMs: outcome.lastMs, pausedMs: outcome.pausedMs }, 'sale resumed');
    }
    return outcome;
  }

  /**
   * With MySQL: a pause goes to the row first (event_pauses, autocommit: no
   * wait on the events row a restore or persister holds), then to Redis, then
   * Redis' exact values to the row. MySQL failing fails the pause with nothing
   * changed; Redis giving no answer (it may still run it) leaves the row
   * paused, so a restore keeps the sale paused. A resume goes to Redis first:
   * the row failing after it still says paused, and a restore pauses (the safe
   * side). An event MySQL does not have is 404 whatever Redis holds.
   */
  private async pauseStored(store: EventStore, id: string, on: boolean): Promise<PauseOutcome> {
    if (!(await store.has(id))) return { result: PauseResult.Unknown, since: 0, pausedMs: 0, pauses: 0, orders: 0, lastMs: 0 };
    if (on) await store.pauseIntent(id, Date.now());
    const o = await this.pauseRedis(id, on);
    // MySQL has the event and Redis does not, after the restore had its time: the row keeps the intent, the restore brings it.
    if (o.result === PauseResult.Unknown) throw new Error('Redis unavailable: the event is being restored from MySQL; retry');
    await store.savePause(id, o).catch((err: unknown) => {
      logRepeated('warn', { event: id, err: (err as Error).message }, on ? 'pause kept in Redis; its exact values not written to MySQL' : 'sale resumed in Redis; MySQL still says paused (a restore would pause it again)');
    });
    return o;
  }

  /**
   * The switch in Redis (lua/pauseEvent-2.lua). An event Redis lost (7) is
   * restored from MySQL, and the switch is tried again every 10 ms: the
   * restore writes the event's meta first, so the pause lands before the
   * restored sale opens (restoreBegin and restoreEnd keep a pause Redis holds).
   */
  private async pauseRedis(id: string, on: boolean): Promise<PauseOutcome> {
    const keys = eventKeys(id);
    const giveUp = Date.now() + RESTORE_LEASE_MS;
    for (;;) {
      const o = await pauseEvent(this.redis, keys, on);
      if (o.result !== PauseResult.Unknown || this.store === undefined || Date.now() > giveUp) return o;
      void this.restore(id);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * This process's call decided the event's draw: every process re-reads the
   * event (its seed is public now), and MySQL gets the decision and its
   * list (keepDraw), so a restore after a Redis loss neither draws again nor
   * loses what was published.
   */
  drawDecided(event: SaleEvent): void {
    void this.load(event.id)
      .catch(() => undefined)
      .then((e) => this.announce?.(e ?? event));
    this.keepDraw(event);
  }

  /**
   * Makes sure MySQL holds a decided draw and its list: called by the process
   * that decided it and by every process that reads it decided (load), once
   * per draw and process, so a decider that died before writing it loses
   * nothing (the writes are idempotent). Tried a few times; a failure is
   * logged, and the next read of the event tries again (Redis still has it).
   */
  private keepDraw(event: SaleEvent): void {
    const store = this.store;
    const tag = `${event.id}/${event.draw.seed}`;
    if (store === undefined || this.drawsKept.has(tag)) return;
    this.drawsKept.add(tag);
    void (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          if ((await store.drawOf(store.pool, event.id)).decided > 0) return;
          const [fields, list] = await Promise.all([
            this.redis.hmget(event.keys.meta, 'drawSeed', 'drawn', 'drawEntrants', 'drawStock'),
            readDrawList(this.redis, event.keys),
          ]);
          const [seed, drawn, entrants, stock] = fields;
          if (drawn == null || seed !== event.draw.seed) return void this.drawsKept.delete(tag);
          await store.saveDraw(event.id, { seed, decided: Number(drawn), entrants: Number(entrants ?? 0), stock: Number(stock ?? 0) }, list);
          return;
        } catch (err) {
          if (attempt >= 5) {
            this.drawsKept.delete(tag);
            return log.error({ event: event.id, err: (err as Error).message }, 'the draw could not be written to MySQL: a restore after a Redis loss would not have its list');
          }
          await new Promise((r) => setTimeout(r, 1_000 * attempt));
        }
      }
    })();
  }

  /** Another instance sold the event out: answer "sold out" from memory from now on. */
  soldOut(id: string): void {
    const event = this.events.get(id);
    if (event === undefined || !event.soldOut()) return;
    for (const w of this.watchers) w(event);
  }

  /**
   * Reads one event from Redis; a new one also gets its known winners. While
   * a restore runs, the local estimate is left as it is (Redis has no count
   * yet); a restore whose lease ran out is taken over.
   */
  async load(id: string): Promise<SaleEvent | undefined> {
    const keys = eventKeys(id);
    const [meta, stock] = await Promise.all([
      this.redis.hmget(keys.meta, 'stock', 'start', 'end', 'name', 'lease', 'payWithin', 'incarnation', 'paused', 'pow',
        'drawMs', 'drawSeed', 'drawn', 'drawEntrants', 'drawStock', 'limit', 'skus'),
      this.redis.get(keys.stock),
    ]);
    const [units, start, end, name, lease, payWithin, incarnation, paused, pow, drawMs, drawSeed, drawn, drawEntrants, drawStock, limit, skuText] =
      meta;
    if (units === null || units === undefined || start == null || end == null) return undefined;
    const existing = this.events.get(id);
    // No count: part of the event is gone (the buy script answers 7 for it); never read that as "sold out".
    if (lease == null && stock === null) void this.restore(id);
    if (lease != null || stock === null) {
      if (lease != null && Number(lease) < Date.now()) void this.restore(id);
      if (existing !== undefined) return existing;
    }
    const skus = parseSkuText(skuText);
    const def: EventDefinition = {
      stock: Number(units),
      start: Number(start),
      end: Number(end),
      name: name ?? '',
      payWithin: Number(payWithin ?? 0),
      pow: readPow(pow),
      drawMs: Number(drawMs ?? 0),
      ...(limit != null && Number(limit) > 1 ? { limit: Number(limit) } : {}),
      ...(skus === undefined ? {} : { skus }),
    };
    const draw = { seed: drawSeed ?? '', decided: Number(drawn ?? 0), entrants: Number(drawEntrants ?? 0), stock: Number(drawStock ?? 0) };
    // Restoring and new here: the initial stock is an upper bound, and buys answer 10 until it ends.
    const event = this.upsert(id, def, lease != null || stock === null ? def.stock : Number(stock), Number(paused ?? 0), draw);
    // Sold in lots: each SKU's count too (absent while a restore runs: the definition's stocks stand meanwhile).
    if (event.lots && lease == null && stock !== null) {
      const left = await this.redis.hmget(keys.meta, ...event.skuIds.map((sku) => `sku:${sku}`));
      if (left.every((n) => n !== null)) event.syncSkus(left.map(Number));
    }
    if (draw.decided > 0 && lease == null) this.keepDraw(event);
    if (!this.withWinners) return event;
    const generation = event.winnersGeneration;
    // New here, or a new incarnation in Redis (restored, or wiped and created again): read every winner.
    const reborn = event.incarnation(incarnation ?? undefined);
    if (existing === undefined || reborn) {
      await this.loadWinners(event);
      if (event.payWithin > 0) await this.forgetExpiredWinners(event);
      event.winnersCompleted(generation);
      return event;
    }
    if (event.payWithin > 0) await this.forgetExpiredWinners(event);
    // Buyers this process has not heard of (units came back and sold elsewhere): read them before the next "sold out".
    if (event.winnersComplete && (await this.redis.hlen(event.keys.buyers)) !== event.buyersKnown) event.recheckWinners();
    return event;
  }

  /**
   * Makes the known winners of a sold-out event complete: when Redis holds as
   * many buyers as this process knows (winners and expired users), they are
   * the same; else every buyer is read. Until then the prefilter sends the
   * event's buys to Redis (which answers 1 or 2) rather than say "sold out".
   * One read per event at a time; a failed one is tried again by the next buy.
   */
  completeWinners(event: SaleEvent): void {
    if (!this.withWinners || this.completing.has(event.id)) return;
    this.completing.add(event.id);
    const generation = event.winnersGeneration;
    void (async () => {
      if ((await this.redis.hlen(event.keys.buyers)) !== event.buyersKnown) {
        await this.loadWinners(event);
        // Buyers whose order expired are not winners (they hear 12): move them out again.
        if (event.payWithin > 0) await this.forgetExpiredWinners(event, true);
      }
      event.winnersCompleted(generation);
    })()
      .catch((err: unknown) => log.debug({ event: event.id, err: (err as Error).message }, 'could not read the winners: the next buy tries again'))
      .finally(() => this.completing.delete(event.id));
  }

  /**
   * The hook for "units returned for event E": orders expired (by this
   * process's sweeper, a late payment, or, once wired, a message from
   * another instance) and their units are back in stock. Re-syncs the local
   * estimate to Redis' count after the expiry (-1: leave it) and drops the
   * expired users from the local winners (their next buy gets 12 from Redis).
   */
  unitsReturned(id: string, remaining: number, expired: readonly ExpiredOrder[]): void {
    const event = this.events.get(id);
    if (event === undefined) return;
    event.unitsReturned(remaining, expired);
    // Sold in lots: the units went back to their SKUs' counts, which a re-read brings here.
    if (event.lots) void this.load(id).catch((err: unknown) => log.debug({ event: id, err: (err as Error).message }, 'could not re-read the SKU counts'));
    // This process sells again at once; the other processes re-read the event.
    for (const w of this.watchers) w(event);
    if (expired.length > 0) this.announce?.(event);
  }

  /**
   * Other instances' expiries reach this one here, at the event refresh:
   * when Redis holds another count of expired orders than this process has
   * accounted for, they are read (order → user) and their users move from
   * the local winners to `expired`. Costs one HLEN per refresh while
   * nothing changes.
   */
  private async forgetExpiredWinners(event: SaleEvent, always = false): Promise<void> {
    const count = await this.redis.hlen(event.keys.expired);
    if (count === event.expiredSeen && !always) return;
    const users: { user: string; order: number }[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(event.keys.expired, cursor, 'COUNT', 1000);
      for (let i = 0; i + 1 < flat.length; i += 2) users.push({ order: Number(flat[i]), user: flat[i + 1] as string });
      cursor = next;
    } while (cursor !== '0');
    event.unitsReturned(-1, users, count);
  }

  /** After a restart, winners re-clicking get "already bought" without Redis. */
  private async loadWinners(event: SaleEvent): Promise<void> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(event.keys.buyers, cursor, 'COUNT', 1000);
      // A buyer in the hash is what Redis would answer "already bought" (a lots event: their units, their last order).
      for (let i = 0; i + 1 < flat.length; i += 2) {
        if (!event.lots) {
          event.heard(flat[i] as string, Outcome.AlreadyBought, Number(flat[i + 1]));
          continue;
        }
        const h = parseHolding(flat[i + 1]);
        const last = h.orders[h.orders.length - 1];
        event.holdAtLeast(flat[i] as string, h.units);
        if (last !== undefined) event.learnWinner(flat[i] as string, last.order);
      }
      cursor = next;
    } while (cursor !== '0');
  }

  /**
   * Loads every event in Redis (every master of a Cluster). An event this
   * process knows that Redis no longer has is restored from MySQL.
   */
  async refresh(): Promise<void> {
    // Only an event known before the scan began can be missed by it for being gone: one put (here, or announced by
    // another process) while the scan runs may be behind its cursor, and restoring that was a false "lost".
    const known = [...this.events.keys()];
    const seen = new Set<string>();
    const failed = await this.scanEveryMaster(async (node) => {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', META_PATTERN, 'COUNT', 1000);
        for (const key of keys) {
          const id = eventOfMetaKey(key);
          if (id !== undefined && (await this.load(id)) !== undefined) seen.add(id);
        }
        cursor = next;
      } while (cursor !== '0');
    });
    // A shard that could not be read may hold any event: nothing is "lost" until every shard answered.
    if (failed !== undefined) throw failed;
    for (const id of known) if (!seen.has(id) && this.events.has(id)) void this.restore(id);
  }

  /**
   * Runs `scan` on the one Redis, or on every master of a Cluster (taken from
   * the slot table, so a master that is down counts too): the other shards
   * are still read when one fails. Returns the first failure.
   */
  private async scanEveryMaster(scan: (node: Redis) => Promise<void>): Promise<Error | undefined> {
    if (!(this.redis instanceof Cluster)) return scan(this.redis).then(() => undefined, (err: unknown) => err as Error);
    const connected = new Map(this.redis.nodes('master').map((n) => [`${n.options.host}:${n.options.port}`, n]));
    const masters = new Set(this.redis.slots.map((owners) => owners[0]).filter((k): k is string => k !== undefined));
    let failed: Error | undefined;
    for (const key of masters) {
      const node = connected.get(key);
      try {
        if (node === undefined) throw new Error(`Redis Cluster master ${key} is not connected`);
        await scan(node);
      } catch (err) {
        failed ??= err as Error;
      }
    }
    return failed;
  }

  startRefreshing(everyMs: number): void {
    this.timer = setInterval(() => {
      if (this.redis.status !== 'ready') return;
      this.refresh().catch((err: unknown) => logRepeated('warn', { err }, 'event refresh failed'));
    }, everyMs);
    this.timer.unref();
  }

  /** Stops refreshing and waits for restores under way. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.restoring.values());
  }
}
