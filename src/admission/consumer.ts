import { performance } from 'node:perf_hooks';
import { Outcome } from '../outcome';
import { ReplyError } from 'ioredis';
import { buy, buyLots, type BuyResult, type BuyLotsResult, type RedisClient } from '../redis/scripts';
import type { SaleEvent } from '../events/sale-event';
import { TokenBucket } from './token-bucket';
import { logRepeated } from '../log-repeat';
import { Stage } from '../events/answer-counts';
import type { Ticket, TicketLine, TicketSink } from './ticket';
import { parseHolding, type Holding } from '../redis/lots';
import { DrawDesk } from './draw-desk';

/** How much earlier than Redis' clock says a won order's payment deadline is taken to be (at most half of payWithin). */
const CLOCK_MARGIN_MS = 1_000;

export interface ConsumerOptions {
  readonly rate: number;
  readonly burst: number;
  readonly batchSize: number;
  /** How often waiting and in-flight requests are checked against their deadline. */
  readonly sweepMs: number;
  /** Told of every script call: how many leaders it carried and how long Redis took. */
  readonly onBatch?: (size: number, seconds: number) => void;
  /** Redis does not have an event this process serves (lost data): restore it. */
  readonly onLost?: (event: SaleEvent) => void;
  /** A script answer left the event with nothing: tell every front at once. */
  readonly onSoldOut?: (event: SaleEvent) => void;
  /** This process's copy of an event is stale (a draw script knows another seed): read it again. */
  readonly onStale?: (event: SaleEvent) => void;
  /** A draw script answered "paused" for an event this process thought running. */
  readonly onPaused?: (event: SaleEvent) => void;
  /** This process's call decided an event's draw at the opening: publish it. */
  readonly onDrawn?: (event: SaleEvent) => void;
}

/**
 * The one consumer of a process: each tick takes what the token bucket
 * allows from the line, groups it by event and sends one buy script call
 * per event batch, then settles every ticket of the batch through the sink
 * (the ledger, which answers it: corked writes). A ticket past its deadline is settled "timeout" (6)
 * while it waits, or answered early while Redis decides it. While Redis is
 * unreachable, everything is settled "unavailable" (10) at once.
 */
export class Consumer<T extends Ticket> {
  private readonly bucket: TokenBucket;
  private running = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly sweeper: NodeJS.Timeout;
  /** Batches sent to Redis and not yet answered by it. */
  private readonly inFlight = new Set<T[]>();
  /** Batches whose reply never came, until the buyers hash says what Redis did (see resolve). */
  private readonly unknown = new Set<T[]>();
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** Events whose draw at the opening is pending: their batches enter it (src/admission/draw-desk.ts). */
  private readonly draws: DrawDesk<T>;

  constructor(
    private readonly line: TicketLine<T>,
    private readonly sink: TicketSink<T>,
    private readonly redis: RedisClient,
    private readonly options: ConsumerOptions,
  ) {
    this.bucket = new TokenBucket(options.rate, options.burst, performance.now());
    this.draws = new DrawDesk<T>(
      redis,
      sink,
      {
        batchSize: options.batchSize,
        buy: (event, batch) => this.decide(event, batch),
        onLost: options.onLost,
        onStale: options.onStale,
        onPaused: (event) => {
          this.answerWaiting(event, Outcome.Paused);
          options.onPaused?.(event);
        },
        onSoldOut: options.onSoldOut,
        onDrawn: options.onDrawn,
      },
      () => this.notifyIfIdle(),
    );
    this.sweeper = setInterval(() => this.sweep(Date.now()), options.sweepMs);
    this.sweeper.unref();
    // Requests waiting for tokens would otherwise sit until their deadline.
    redis.on('close', () => this.flush(Outcome.Unavailable));
  }

  get redisReady(): boolean {
    return this.redis.status === 'ready';
  }

  enqueue(t: T): void {
    this.line.push(t);
    this.kick();
  }

  /** Schedules a tick soon, so requests of one loop turn share a batch. */
  kick(): void {
    if (!this.running && this.immediate === undefined && this.wakeTimer === undefined) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        void this.run();
      });
    }
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.line.size > 0) {
        this.sweep(Date.now());
        if (!this.redisReady) {
          this.flush(Outcome.Unavailable);
          break;
        }
        const want = Math.min(this.line.size, this.options.batchSize);
        if (want === 0) break;
        const granted = this.bucket.take(want, performance.now());
        if (granted === 0) {
          this.wakeTimer = setTimeout(() => {
            this.wakeTimer = undefined;
            void this.run();
          }, this.bucket.msUntilNext(performance.now()));
          break;
        }
        const batches = this.take(granted);
        if (batches.size === 0) continue;
        await Promise.all([...batches].map(([event, batch]) => this.decide(event, batch)));
      }
    } finally {
      this.running = false;
      this.notifyIfIdle();
    }
  }

  /** Dequeues up to `granted` tickets worth deciding, grouped by event. */
  private take(granted: number): Map<SaleEvent, T[]> {
    const batches = new Map<SaleEvent, T[]>();
    let taken = 0;
    while (taken < granted) {
      const t = this.line.shift();
      if (t === undefined) break;
      if (!t.wanted()) {
        // Nobody waits for its answer: do not spend a unit on it.
        this.sink.drop(t);
        continue;
      }
      if (t.event.paused) {
        // Queued before this process heard of the pause: Redis would answer 16 too.
        this.sink.settle(t, Outcome.Paused, 0, Stage.Queue);
        continue;
      }
      let batch = batches.get(t.event);
      if (batch === undefined) batches.set(t.event, (batch = []));
      batch.push(t);
      taken++;
    }
    if (taken < granted) this.bucket.giveBack(granted - taken);
    return batches;
  }

  /** One script call for a batch: buy-8.lua for a one-unit event, buyLots-8.lua (user, q, SKU per request) for one sold in lots. */
  private call(event: SaleEvent, batch: T[]): Promise<BuyResult | BuyLotsResult> {
    if (!event.lots) return buy(this.redis, event.keys, batch.map((t) => t.user));
    const ids = event.skuIds;
    const asks: (string | number)[] = [];
    for (const t of batch) asks.push(t.user, t.q ?? 1, ids[t.sku ?? 0] ?? '');
    return buyLots(this.redis, event.keys, asks);
  }

  private async decide(event: SaleEvent, batch: T[]): Promise<void> {
    if (event.drawPending) {
      // Its draw at the opening is not decided (as far as this process knows): the batch enters it, or learns it closed.
      this.inFlight.add(batch);
      try {
        await this.draws.enter(event, batch);
      } finally {
        this.inFlight.delete(batch);
      }
      return;
    }
    this.inFlight.add(batch);
    const started = performance.now();
    // A win's payment deadline is Redis' clock when it ran the batch + payWithin: never earlier than now + payWithin,
    // less a margin for the clocks of this host and Redis' (an expiry is swept by Redis' clock).
    const payMs = event.payWithin * 1000;
    const sureUntil = Date.now() + payMs - Math.min(CLOCK_MARGIN_MS, payMs / 2);
    try {
      const result = await this.call(event, batch);
      this.options.onBatch?.(batch.length, (performance.now() - started) / 1000);
      if (result.remaining < 0) {
        // Redis lost the event (7) or is restoring it (10). Retry, never
        // "sold out": the local estimate stays as it was.
        if (result.codes[0] === Outcome.UnknownEvent) this.options.onLost?.(event);
        this.fail(batch, Outcome.Unavailable, Stage.Redis);
        return;
      }
      // Paused by another process and not yet heard of here (the news follows): the rest of the line waits no more.
      if (result.codes[0] === Outcome.Paused && !event.paused) {
        event.pause(Date.now());
        this.answerWaiting(event, Outcome.Paused);
      }
      const before = event.remaining;
      event.syncRemaining(result.remaining);
      if ('counts' in result) {
        event.syncSkus(result.skuLeft);
        const { codes, orders, counts } = result;
        for (let i = 0; i < batch.length; i++) event.heardLot((batch[i] as T).user, codes[i] as Outcome, orders[i] ?? 0, counts[i] ?? 0, sureUntil);
        for (let i = 0; i < batch.length; i++) this.sink.settle(batch[i] as T, codes[i] as Outcome, orders[i] ?? 0, Stage.Redis, counts[i] ?? 0);
      } else {
        for (let i = 0; i < batch.length; i++) event.heard((batch[i] as T).user, result.codes[i] as Outcome, result.orders[i] ?? 0, sureUntil);
        // Nothing left, and Redis holds as many buyers as this process knows: it knows them all, "sold out" may come from memory.
        if (result.remaining <= 0 && result.buyers === event.buyersKnown) event.winnersCompleted(event.winnersGeneration);
        for (let i = 0; i < batch.length; i++) {
          this.sink.settle(batch[i] as T, result.codes[i] as Outcome, result.orders[i] ?? 0, Stage.Redis);
        }
      }
      if (before > 0 && result.remaining === 0) this.options.onSoldOut?.(event);
    } catch (err) {
      logRepeated('warn', { event: event.id, size: batch.length, err }, 'buy script failed');
      // Redis refused the call itself: nothing ran.
      if (err instanceof ReplyError) return this.fail(batch, Outcome.Unavailable, Stage.Queue);
      // No reply (a timeout, a dropped connection): Redis may have run it, or may still. Its users are told 10 now
      // and keep their reservations (a retry follows the batch's outcome, and no "sold out" counts on their units)
      // until the buyers hash says what happened.
      for (const t of batch) this.sink.answerEarly(t, Outcome.Unavailable, Stage.Queue);
      this.unknown.add(batch);
      void this.resolve(event, batch);
    } finally {
      this.inFlight.delete(batch);
    }
  }

  /**
   * Learns what became of a batch whose reply never came: asks the buyers
   * hash (on the same connection, so after the call itself if Redis runs it)
   * until Redis answers. A user Redis granted is a winner (their retry gets 2
   * with the order); one it did not is settled 10 (their retry goes on).
   */
  private async resolve(event: SaleEvent, batch: T[]): Promise<void> {
    const users = batch.map((t) => t.user);
    for (let wait = 50; ; wait = Math.min(wait * 2, 1_000)) {
      if (this.closed) break;
      try {
        const [orders, stock] = await Promise.all([this.redis.hmget(event.keys.buyers, ...users), this.redis.get(event.keys.stock)]);
        const before = event.remaining;
        if (stock !== null) event.syncRemaining(Number(stock));
        // A lots event's user may hold orders from before: this request won when their newest order is of its q and
        // SKU and holds units this process had not heard of (a retry would otherwise be another order). A user
        // twice in the batch: each order is matched to one request at most, the later requests to the later orders.
        const won = event.lots ? this.lotsWon(event, batch, orders) : [];
        batch.forEach((t, i) => {
          if (event.lots) {
            const w = won[i];
            if (w !== undefined) event.heardLot(t.user, Outcome.Won, w, t.q ?? 1);
            return this.sink.settle(t, w !== undefined ? Outcome.Won : Outcome.Unavailable, w ?? 0, Stage.Redis, w !== undefined ? (t.q ?? 1) : 0);
          }
          const order = Number(orders[i] ?? 0);
          const code = order > 0 ? Outcome.Won : Outcome.Unavailable;
          // Its deadline is unknown (Redis' clock when it ran the call): "already bought" comes from Redis then.
          event.heard(t.user, code, order);
          this.sink.settle(t, code, order, Stage.Redis);
        });
        if (before > 0 && event.remaining <= 0) this.options.onSoldOut?.(event);
        this.unknown.delete(batch);
        this.notifyIfIdle();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    // Stopping: what Redis did stays in Redis (the user's next click there is answered from it).
    this.unknown.delete(batch);
    this.fail(batch, Outcome.Unavailable, Stage.Queue);
  }

  /**
   * Which requests of a lots batch of unknown fate won, from their users'
   * buyers values (`orders`, one per request): request i's order number, or
   * undefined. Walks each user's orders from the newest and the batch from
   * its last request, so one order is never credited to two requests; raises
   * each user's known units to what Redis holds less the units credited here
   * (heardLot adds those back), so they never exceed Redis'.
   */
  private lotsWon(event: SaleEvent, batch: T[], orders: (string | null)[]): (number | undefined)[] {
    const won: (number | undefined)[] = [];
    const seen = new Map<string, { h: Holding; heard: number; taken: number; units: number }>();
    for (let i = batch.length - 1; i >= 0; i--) {
      const t = batch[i] as T;
      let u = seen.get(t.user);
      if (u === undefined) {
        u = { h: parseHolding(orders[i]), heard: event.heldBy(t.user), taken: 0, units: 0 };
        seen.set(t.user, u);
      }
      const order = u.h.orders[u.h.orders.length - 1 - u.taken];
      const q = t.q ?? 1;
      if (order !== undefined && u.h.units - u.units > u.heard && order.q === q && order.sku === (event.skuIds[t.sku ?? 0] ?? '')) {
        won[i] = order.order;
        u.taken++;
        u.units += q;
      }
    }
    for (const [user, u] of seen) event.holdAtLeast(user, u.h.units - u.units);
    return won;
  }

  /** Settles every ticket of `event` still waiting in the line with `code` at once (the event was paused). */
  answerWaiting(event: SaleEvent, code: Outcome): void {
    for (const t of this.line.extract((t) => t.event === event)) this.sink.settle(t, code, 0, Stage.Queue);
    this.draws.answerWaiting(event, code);
    this.notifyIfIdle();
  }

  private fail(batch: T[], code: Outcome, stage: Stage): void {
    for (const t of batch) this.sink.settle(t, code, 0, stage);
  }

  /**
   * Answers "timeout" to every request past its deadline. Waiting ones leave
   * the line and are settled (their reservation goes back); in-flight ones
   * are answered now and settled when Redis replies.
   */
  sweep(now: number): void {
    for (let t = this.line.peek(); t !== undefined && t.deadline <= now; t = this.line.peek()) {
      this.line.shift();
      this.sink.settle(t, Outcome.Timeout, 0, Stage.Queue);
    }
    for (const batches of [this.inFlight, this.unknown]) {
      for (const batch of batches) for (const t of batch) if (t.deadline <= now) this.sink.answerEarly(t, Outcome.Timeout, Stage.Queue);
    }
    this.draws.sweep(now);
    this.sink.sweep?.(now);
    this.notifyIfIdle();
  }

  private get busy(): boolean {
    return this.running || this.line.size > 0 || this.inFlight.size > 0 || this.unknown.size > 0 || this.draws.busy;
  }

  private notifyIfIdle(): void {
    if (!this.busy) this.notifyIdle();
  }

  /** Resolves when nothing is queued, in flight or of unknown fate (shutdown, tests). */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Settles everything still waiting with `code` (Redis lost, shutdown). */
  flush(code: Outcome): void {
    for (let t = this.line.shift(); t !== undefined; t = this.line.shift()) this.sink.settle(t, code, 0, Stage.Queue);
    this.draws.flush(code);
  }

  close(): void {
    this.closed = true;
    this.draws.close();
    clearInterval(this.sweeper);
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
  }
}
