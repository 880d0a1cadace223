import { createHash } from 'node:crypto';
import os from 'node:os';
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { EventKeys } from '../redis/keys';
import { ackOrders, dropIdleConsumers, type RedisClient } from '../redis/scripts';
import { log } from '../log';
import { logRepeated } from '../log-repeat';
import { keepConflicts, writeOrders, writePayments, type OrderConflict } from './order-writer';
import { entriesOf, parseEntries, type StreamOrder } from './stream';

export const GROUP = 'persister';

export interface PersisterOptions {
  /** Stream entries per read (one entry: one buy batch's orders, or one settlement), and rows per INSERT. */
  readonly batch: number;
  /** How long to wait when no stream had anything. */
  readonly waitMs: number;
  /**
   * How long to let orders gather after a round that read less than a full
   * batch (0: go again at once). During a sale a round every few ms would
   * write a few dozen orders each time, paying a transaction, a commit and
   * four round trips for each; a short gather makes each round larger.
   */
  readonly gatherMs?: number;
  /** Entries pending this long on another consumer are taken over (it died). */
  readonly claimIdleMs: number;
  /** The consumer name in the group: stable across restarts (see persisterName). */
  readonly consumer: string;
}

/**
 * A consumer name that stays the same when the same server restarts (same
 * host, same data folder, same role), so a restarted persister picks up its
 * own pending entries at once instead of waiting for the claim timeout.
 */
export function persisterName(dataDir: string, role: string): string {
  const folder = createHash('sha256').update(dataDir).digest('hex').slice(0, 8);
  return `${os.hostname()}-${folder}-${role}`;
}

export interface PersistedEvent {
  readonly id: string;
  readonly keys: EventKeys;
}

type ReadReply = [key: string, entries: [string, string[]][]][] | null;

/**
 * Moves won orders from each event's Redis stream into MySQL: reads through
 * the consumer group `persister`, writes each batch with one multi-row
 * idempotent INSERT, and only after the commit acknowledges and deletes the
 * entries. A crash before the ack leaves them pending: this consumer re-reads
 * its own pending entries first, and entries of a consumer that died are
 * taken over with XAUTOCLAIM. Any number of persisters may run at once; a
 * row written twice is a no-op. MySQL being down delays orders, never loses
 * them: the loop backs off and retries.
 */
export class Persister {
  readonly consumer: string;
  persisted = 0;
  /** Batches committed (one transaction each): with gatherMs, fewer than the rounds that found something. */
  commits = 0;
  /** Orders kept in order_conflicts instead of being stored (Redis lost data). */
  conflicts = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly groups = new Set<string>();
  private lastClaim = 0;
  /** Whether a read of the current round came back full (a backlog: no gathering). */
  private fullRead = false;
  /** Consecutive failed rounds (0 while healthy). */
  failures = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly pool: Pool,
    private readonly events: () => Iterable<PersistedEvent>,
    private readonly options: PersisterOptions,
  ) {
    this.consumer = options.consumer;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the current round. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /**
   * Stops the loop, then writes everything the streams hold (this consumer's
   * pending entries and new ones) until they are empty or `timeoutMs` passes.
   * Returns whether everything was written.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    await this.stop();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        if ((await this.round()) === 0) return true;
      } catch (err) {
        this.forgetGroupsOn(err);
        logRepeated('warn', { err: (err as Error).message }, 'persister flush failed');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return false;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let moved = 0;
      try {
        if (Date.now() - this.lastClaim >= this.options.claimIdleMs / 2) {
          this.lastClaim = Date.now();
          moved += await this.reclaim();
        }
        moved += await this.round();
        if (this.failures > 0) log.info({ after: this.failures }, 'persister recovered');
        this.failures = 0;
      } catch (err) {
        this.forgetGroupsOn(err);
        this.failures++;
        if (this.failures === 1 || this.failures % 50 === 0) {
          log.warn({ failures: this.failures, err: (err as Error).message }, 'persister: will retry');
        }
      }
      const gather = this.options.gatherMs ?? 0;
      if (this.running && (moved === 0 || (gather > 0 && !this.fullRead))) {
        const backoff =
          this.failures > 0 ? Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6)) : moved === 0 ? this.options.waitMs : gather;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoff);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** One pass over every event; returns how many orders it wrote. */
  private async round(): Promise<number> {
    let moved = 0;
    this.fullRead = false;
    // Under a Redis Cluster each event's stream is on its own shard: one shard
    // that is down must not hold back the others' orders. Its failure is
    // raised only when nothing else moved, so the loop backs off as before.
    let failed: unknown;
    for (const event of this.events()) {
      try {
        await this.ensureGroup(event.keys.orders);
        // Own pending entries first (written but not acknowledged before a failure), then new ones.
        let orders = await this.read(event.keys.orders, '0');
        if (orders.length === 0) orders = await this.read(event.keys.orders, '>');
        if (orders.length > 0) moved += await this.store(event, orders);
      } catch (err) {
        this.forgetGroupsOn(err);
        failed ??= err;
      }
    }
    if (failed !== undefined && moved === 0) throw failed;
    return moved;
  }

  private async read(stream: string, from: '0' | '>'): Promise<StreamOrder[]> {
    const reply = (await this.redis.xreadgroup(
      'GROUP', GROUP, this.consumer, 'COUNT', this.options.batch, 'STREAMS', stream, from,
    )) as ReadReply;
    const entries = reply?.[0]?.[1];
    if ((entries?.length ?? 0) >= this.options.batch) this.fullRead = true;
    return parseEntries(entries);
  }

  /**
   * Takes over entries another consumer has held longer than claimIdleMs,
   * and deletes consumers that hold nothing and were idle that long.
   */
  private async reclaim(): Promise<number> {
    let moved = 0;
    for (const event of this.events()) {
      await this.ensureGroup(event.keys.orders);
      await dropIdleConsumers(this.redis, event.keys, GROUP, this.options.claimIdleMs, this.consumer);
      let cursor = '0-0';
      do {
        const reply = (await this.redis.xautoclaim(
          event.keys.orders, GROUP, this.consumer, this.options.claimIdleMs, cursor, 'COUNT', this.options.batch,
        )) as [string, [string, string[]][], string[]?];
        cursor = reply[0];
        const orders = parseEntries(reply[1]);
        if (orders.length > 0) {
          log.info({ event: event.id, count: orders.length }, 'persister took over orders of a stopped consumer');
          moved += await this.store(event, orders);
        }
      } while (cursor !== '0-0');
    }
    return moved;
  }

  /**
   * Stores a batch, then acknowledges it. The INSERT runs under a shared
   * lock on the event's row: a restore from MySQL (which takes that row
   * exclusively) waits for this batch, so it sees every order a persister
   * took from Redis. Under the lock the batch is checked to be still in the
   * stream: a batch read before Redis lost its data, and only stored after
   * a restore, could reuse an order number granted since; it is left alone
   * (its orders are part of what the loss took, see the README).
   */
  private async store(event: PersistedEvent, orders: StreamOrder[]): Promise<number> {
    const conn = await this.pool.getConnection();
    let stored: boolean;
    try {
      await conn.beginTransaction();
      stored = await this.storeLocked(conn, event, orders);
      await conn.commit();
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
    if (!stored) return 0;
    await ackOrders(this.redis, event.keys, GROUP, entriesOf(orders));
    this.persisted += orders.length;
    this.commits++;
    return orders.length;
  }

  private async storeLocked(conn: PoolConnection, event: PersistedEvent, orders: StreamOrder[]): Promise<boolean> {
    await conn.query('SELECT 1 FROM events WHERE id = ? LOCK IN SHARE MODE', [event.id]);
    const first = (orders[0] as StreamOrder).id;
    const still = await this.redis.xrange(event.keys.orders, first, first);
    if (still.length === 0) {
      log.warn({ event: event.id, count: orders.length }, 'persister: a batch read before Redis lost its data is gone from the stream; not stored');
      return false;
    }
    // Wins first: a settlement in the same batch follows its order (not required: see order_payments).
    // One transaction, INSERTs of at most `batch` rows: a read of many batch entries commits once.
    const conflicts: OrderConflict[] = [];
    const won = orders.filter((o) => o.settled === undefined);
    for (let i = 0; i < won.length; i += this.options.batch) conflicts.push(...(await writeOrders(conn, event.id, won.slice(i, i + this.options.batch))));
    const settled = orders.filter((o) => o.settled !== undefined);
    for (let i = 0; i < settled.length; i += this.options.batch) conflicts.push(...(await writePayments(conn, event.id, settled.slice(i, i + this.options.batch))));
    if (conflicts.length > 0) {
      await keepConflicts(conn, event.id, conflicts);
      this.conflicts += conflicts.length;
      log.error(
        { event: event.id, count: conflicts.length, first: conflicts.slice(0, 5).map((c) => `${c.order.orderNo}/${c.order.user}: ${c.reason}`) },
        'persister: conflicting orders kept in order_conflicts (Redis lost data); run seckill reconcile',
      );
    }
    return true;
  }

  /** A Redis that lost its data lost the groups too: create them again. */
  private forgetGroupsOn(err: unknown): void {
    if (String((err as Error).message).includes('NOGROUP')) this.groups.clear();
  }

  private async ensureGroup(stream: string): Promise<void> {
    if (this.groups.has(stream)) return;
    try {
      await this.redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
    this.groups.add(stream);
  }
}
