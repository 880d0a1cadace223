import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Cluster } from 'ioredis';
import type { Catalog } from '../events/catalog';
import type { SaleEvent } from '../events/sale-event';
import type { Persister } from '../orders/persister';
import { OUTCOME_BY_CODE, OUTCOME_COUNT } from '../outcome';
import type { RedisClient } from '../redis/scripts';
import { CHANNEL_NAMES, STAGE_NAMES, type AnswerCounts } from '../events/answer-counts';

export interface MetricsSources {
  /** Answers refused before an event was found; the rest are counted per event. */
  readonly refused: AnswerCounts;
  readonly queue: QueueView;
  readonly catalog: Catalog;
  readonly redis: RedisClient;
  readonly persister: Persister | undefined;
  /** The answer counts of every process of this server (FleetCounts): refused first, then per event; default, this process's. */
  readonly answers?: () => Promise<AnswerCounts[]>;
  /** Worker processes: how many times a worker of this server was restarted after dying. */
  readonly workerRestarts?: () => number;
}

/** What the queue gauges read: waiting (not yet sent to Redis), parked, capacity. */
export interface QueueView {
  readonly size: number;
  readonly live: number;
  readonly capacity: number;
}

/**
 * The Prometheus view of one server (prom-client, its own registry). Nothing
 * here runs per request: counts live in plain arrays and fields the buy path
 * already keeps, and are read when /metrics is scraped; the two histograms
 * are observed once per script call (per batch). Per-event values come from
 * Redis at scrape time (one pipeline), so they hold for the whole fleet.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly batchSize: Histogram;
  private readonly scriptSeconds: Histogram;

  constructor(sources: MetricsSources) {
    const { refused, queue, catalog, redis, persister } = sources;
    const answers = sources.answers ?? (async () => [refused, ...[...catalog.all()].map((e) => e.answers)]);
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'seckill_' });

    new Counter({
      name: 'seckill_decisions_total',
      help: 'Buy requests answered, by outcome, by the stage that decided (http, prefilter, queue, redis) and by the channel they came in on (http, ws)',
      labelNames: ['channel', 'stage', 'outcome'] as const,
      registers,
      async collect() {
        const all = await answers();
        this.reset();
        for (let channel = 0; channel < CHANNEL_NAMES.length; channel++) {
          for (let stage = 0; stage < STAGE_NAMES.length; stage++) {
            for (let code = 0; code < OUTCOME_COUNT; code++) {
              const n = all.reduce((sum, a) => sum + a.at(channel, stage, code), 0);
              if (n > 0) this.inc({ channel: CHANNEL_NAMES[channel], stage: STAGE_NAMES[stage], outcome: OUTCOME_BY_CODE[code]?.name }, n);
            }
          }
        }
      },
    });
    const restarts = sources.workerRestarts;
    if (restarts !== undefined) {
      new Counter({
        name: 'seckill_worker_restarts_total',
        help: 'Worker processes of this server restarted after they died',
        registers,
        collect() {
          this.reset();
          this.inc(restarts());
        },
      });
    }
    new Gauge({
      name: 'seckill_queue_waiting',
      help: 'Requests waiting in the queue for a token (not yet sent to Redis)',
      registers,
      collect() {
        this.set(queue.size);
      },
    });
    new Gauge({
      name: 'seckill_parked_requests',
      help: 'Requests parked and not yet answered whose client is still connected (waiting, following or in flight)',
      registers,
      collect() {
        this.set(queue.live);
      },
    });
    new Gauge({
      name: 'seckill_queue_capacity',
      help: 'Parked requests at most; past it, buys are answered busy (5)',
      registers,
      collect() {
        this.set(queue.capacity);
      },
    });
    this.batchSize = new Histogram({
      name: 'seckill_batch_size',
      help: 'Requests per buy script call',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
      registers,
    });
    this.scriptSeconds = new Histogram({
      name: 'seckill_redis_script_seconds',
      help: 'Time from sending a buy script call to its answer',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
      registers,
    });

    const perEvent = async (): Promise<{ id: string; remaining: number; unpersisted: number | undefined }[]> => {
      const events = [...catalog.all()];
      const commands = (e: SaleEvent): string[][] => [['get', e.keys.stock], ['hget', e.keys.meta, 'unpersisted']];
      // A Cluster pipeline must stay in one slot: one per event there, each on its own shard (a shard that is down loses only its events' values).
      const replies: ([Error | null, unknown] | undefined)[] | null =
        redis instanceof Cluster
          ? (await Promise.all(events.map((e) => redis.pipeline(commands(e)).exec().catch(() => null)))).flatMap((r) => r ?? [undefined, undefined])
          : await redis.pipeline(events.flatMap(commands)).exec().catch(() => null);
      return events.map((e, i) => {
        const stock = replies?.[2 * i];
        const len = replies?.[2 * i + 1];
        return {
          id: e.id,
          // Redis unreachable: the last remaining count Redis gave this process.
          remaining: stock !== undefined && stock[0] === null ? Number(stock[1] ?? 0) : e.remaining,
          unpersisted: len !== undefined && len[0] === null ? Number(len[1] ?? 0) : undefined,
        };
      });
    };
    let snapshot: ReturnType<typeof perEvent> | undefined;
    // Both per-event gauges share one Redis round trip per scrape.
    const once = (): ReturnType<typeof perEvent> => (snapshot ??= perEvent().finally(() => setImmediate(() => (snapshot = undefined))));
    new Gauge({
      name: 'seckill_stock_remaining',
      help: 'Units left per event (Redis; the last known value while Redis is unreachable)',
      labelNames: ['event'] as const,
      registers,
      async collect() {
        const rows = await once();
        this.reset();
        for (const r of rows) this.set({ event: r.id }, r.remaining);
      },
    });
    new Gauge({
      name: 'seckill_orders_unpersisted',
      help: "Won orders still in the event's Redis stream, not yet in MySQL (persister lag)",
      labelNames: ['event'] as const,
      registers,
      async collect() {
        const rows = await once();
        this.reset();
        for (const r of rows) if (r.unpersisted !== undefined) this.set({ event: r.id }, r.unpersisted);
      },
    });
    if (persister !== undefined) {
      new Counter({
        name: 'seckill_orders_persisted_total',
        help: 'Orders this process wrote to MySQL',
        registers,
        collect() {
          this.reset();
          this.inc(persister.persisted);
        },
      });
      new Counter({
        name: 'seckill_order_conflicts_total',
        help: 'Won orders MySQL refused (their number or user already stored: Redis lost data), kept in order_conflicts',
        registers,
        collect() {
          this.reset();
          this.inc(persister.conflicts);
        },
      });
      new Gauge({
        name: 'seckill_persister_failures',
        help: 'Consecutive persister rounds that failed (MySQL or Redis away); 0 while healthy',
        registers,
        collect() {
          this.set(persister.failures);
        },
      });
    }
  }

  /** Called by the consumer after each script call. */
  readonly observeBatch = (size: number, seconds: number): void => {
    this.batchSize.observe(size);
    this.scriptSeconds.observe(seconds);
  };

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
