import { performance } from 'node:perf_hooks';
import { Outcome } from '../outcome';
import { buy, type RedisClient } from '../redis/scripts';
import type { SaleEvent } from '../events/sale-event';
import { followerOutcome, type Parked } from './parked';
import type { ParkQueue } from './queue';
import { TokenBucket } from './token-bucket';
import { log } from '../log';
import { Stage } from '../metrics/decisions';

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
}

/**
 * The one consumer: each tick takes what the token bucket allows from the
 * queue, groups it by event and sends one buy script call per event batch,
 * then answers every request of the batch (corked). A request past its
 * deadline is answered "timeout" (6); one still waiting gives its
 * reservation back. While Redis is unreachable, everything is answered
 * "unavailable" (10) at once.
 */
export class Consumer {
  private readonly bucket: TokenBucket;
  private running = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly sweeper: NodeJS.Timeout;
  /** Leaders sent to Redis and not yet answered by it. */
  private readonly inFlight = new Set<Parked[]>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly queue: ParkQueue,
    private readonly redis: RedisClient,
    private readonly options: ConsumerOptions,
  ) {
    this.bucket = new TokenBucket(options.rate, options.burst, performance.now());
    this.sweeper = setInterval(() => this.sweep(Date.now()), options.sweepMs);
    this.sweeper.unref();
    // Requests waiting for tokens would otherwise sit until their deadline.
    redis.on('close', () => this.flush(Outcome.Unavailable));
  }

  get redisReady(): boolean {
    return this.redis.status === 'ready';
  }

  /** Answers a parked request once; keeps the live count exact. */
  reply(p: Parked, code: Outcome, order: number, stage: Stage): void {
    if (p.answer(code, order, stage)) this.queue.live--;
  }

  /** The client went away: never write to it; its slot is freed when dequeued. */
  abandon(p: Parked): void {
    if (!p.done) {
      p.done = true;
      this.queue.live--;
    }
  }

  enqueue(p: Parked): void {
    this.queue.push(p);
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
      while (this.queue.size > 0) {
        this.sweep(Date.now());
        if (!this.redisReady) {
          this.flush(Outcome.Unavailable);
          break;
        }
        const want = Math.min(this.queue.size, this.options.batchSize);
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
      if (this.queue.size === 0 && this.inFlight.size === 0) this.notifyIdle();
    }
  }

  /** Dequeues up to `granted` leaders worth deciding, grouped by event. */
  private take(granted: number): Map<SaleEvent, Parked[]> {
    const batches = new Map<SaleEvent, Parked[]>();
    let taken = 0;
    while (taken < granted) {
      const p = this.queue.shift();
      if (p === undefined) break;
      if (p.done && !p.hasLiveFollowers()) {
        // Its client left and nobody else waits on it: do not spend a unit on it.
        this.release(p.event, p);
        this.queue.releaseFollowers(p);
        continue;
      }
      let batch = batches.get(p.event);
      if (batch === undefined) batches.set(p.event, (batch = []));
      batch.push(p);
      taken++;
    }
    if (taken < granted) this.bucket.giveBack(granted - taken);
    return batches;
  }

  private async decide(event: SaleEvent, batch: Parked[]): Promise<void> {
    const users = batch.map((p) => p.user);
    this.inFlight.add(batch);
    const started = performance.now();
    try {
      const result = await buy(this.redis, event.keys, users);
      this.options.onBatch?.(batch.length, (performance.now() - started) / 1000);
      if (result.remaining < 0) {
        // Redis lost the event (7) or is restoring it (10). Retry, never
        // "sold out": the local estimate stays as it was.
        if (result.codes[0] === Outcome.UnknownEvent) this.options.onLost?.(event);
        this.fail(event, batch, Outcome.Unavailable, Stage.Redis);
        return;
      }
      event.remaining = result.remaining;
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i] as Parked;
        const code = result.codes[i] as Outcome;
        const order = result.orders[i] ?? 0;
        if (code === Outcome.Won || code === Outcome.AlreadyBought) event.winners.set(p.user, order);
        this.resolve(event, p, code, order, Stage.Redis);
      }
    } catch (err) {
      log.warn({ event: event.id, size: batch.length, err }, 'buy script failed');
      this.fail(event, batch, Outcome.Unavailable, Stage.Queue);
    } finally {
      this.inFlight.delete(batch);
    }
  }

  /** A leader's outcome is known: drop its reservation, answer it and its followers. */
  private resolve(event: SaleEvent, p: Parked, code: Outcome, order: number, stage: Stage): void {
    this.release(event, p);
    this.reply(p, code, order, stage);
    const followers = this.queue.releaseFollowers(p);
    if (followers !== undefined) {
      const fc = followerOutcome(code);
      for (const f of followers) this.reply(f, fc, order, stage);
    }
  }

  private release(event: SaleEvent, p: Parked): void {
    event.reserved--;
    if (event.queued.get(p.user) === p) event.queued.delete(p.user);
  }

  private fail(event: SaleEvent, batch: Parked[], code: Outcome, stage: Stage): void {
    for (const p of batch) this.resolve(event, p, code, 0, stage);
  }

  /**
   * Answers "timeout" to every request past its deadline. Waiting ones leave
   * the queue and give their reservation back; in-flight ones are answered
   * now and settled when Redis replies.
   */
  sweep(now: number): void {
    for (let p = this.queue.peek(); p !== undefined && p.deadline <= now; p = this.queue.peek()) {
      this.queue.shift();
      this.resolve(p.event, p, Outcome.Timeout, 0, Stage.Queue);
    }
    for (const batch of this.inFlight) {
      for (const p of batch) {
        if (p.deadline > now) continue;
        this.reply(p, Outcome.Timeout, 0, Stage.Queue);
        const followers = this.queue.releaseFollowers(p);
        if (followers !== undefined) for (const f of followers) this.reply(f, Outcome.Timeout, 0, Stage.Queue);
      }
    }
    if (!this.running && this.queue.size === 0 && this.inFlight.size === 0) this.notifyIdle();
  }

  /** Resolves when nothing is queued or in flight (shutdown, tests). */
  idle(): Promise<void> {
    if (this.queue.size === 0 && this.inFlight.size === 0 && !this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Answers everything still waiting with `code` (Redis lost, shutdown). */
  flush(code: Outcome): void {
    for (let p = this.queue.shift(); p !== undefined; p = this.queue.shift()) this.resolve(p.event, p, code, 0, Stage.Queue);
  }

  close(): void {
    clearInterval(this.sweeper);
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
  }
}
