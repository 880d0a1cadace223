import os from 'node:os';
import type { Registry } from 'prom-client';
import type { QueueView } from '../metrics/metrics';
import type { Catalog } from '../events/catalog';
import { readCounts, type EventCounts } from '../events/event-counts';
import type { SaleEvent } from '../events/sale-event';
import { Outcome, OUTCOMES } from '../outcome';
import type { RedisClient } from '../redis/scripts';
import { ScriptTimeWindow, type ScriptTime } from './script-time';
import { FleetCounts, type ProcessCounts } from '../metrics/fleet-counts';
import type { AnswerCounts } from '../events/answer-counts';
import { sampleRow, sampleStep, type HistorySampler } from './history';
import { SoldOutTimes } from './sold-out';

export interface EventSnapshot {
  readonly id: string;
  readonly name: string;
  readonly stock: number;
  /** Epoch ms. */
  readonly start: number;
  readonly end: number;
  readonly state: 'scheduled' | 'open' | 'ended';
  /** Units left: Redis' count (global), or this process's last known one while Redis is away. */
  readonly remaining: number;
  readonly remainingFrom: 'redis' | 'local';
  /** Won orders in the event's stream, not yet in MySQL (global); null while Redis is away. */
  readonly unpersisted: number | null;
  /** Every process's answers (each worker of each instance; a stopped or dead one's as it last published), by outcome name. */
  readonly answers: Record<string, number>;
  /** Those answers per second since the previous tick, by outcome name. */
  readonly rates: Record<string, number>;
  /** Seconds a winner has to pay; 0: a win is final. */
  readonly payWithin: number;
  /** Paused by its operator (buys answer 16 until resumed). */
  readonly paused: boolean;
  /** An event sold in lots: its limit per user and each SKU's stock and units left as this process last heard ('' without SKUs); absent otherwise. */
  readonly lots?: { readonly limit: number; readonly skus: readonly { readonly id: string; readonly stock: number; readonly remaining: number }[] };
  /** The sale's totals: every answer, wins, sold-out answers (every process), users holding an order (Redis; null while away). */
  readonly totals: { readonly requests: number; readonly won: number; readonly soldOut: number; readonly buyers: number | null };
  /** Orders by payment state (Redis); null while Redis is away. */
  readonly payments: { readonly due: number; readonly paid: number; readonly expired: number } | null;
  /** Milliseconds between two samples of the history. */
  readonly step: number;
  /** The newest history sample, `[t, remaining, ...answers by outcome code]` (as GET /admin/events/{e}/history gives them); null outside the sale's window. */
  readonly sample: readonly number[] | null;
  /** Epoch ms of the first sample that saw the sale sold out (the step's start); null while it has not. */
  readonly soldOutAt: number | null;
}

export interface Snapshot {
  /** Server time, epoch ms: the page counts down against it, not against its own clock. */
  readonly t: number;
  readonly process: { readonly pid: number; readonly host: string; readonly startedAt: number };
  readonly redis: string;
  /** The queues of every live process, summed. */
  readonly queue: { readonly waiting: number; readonly parked: number; readonly capacity: number };
  /** Live processes counted (every worker of every instance). */
  readonly processes: number;
  /** This server's workers restarted since it started (absent: one process, no workers). */
  readonly workerRestarts?: number;
  /** Orders go to MySQL (a persister runs, in this server or apart): orders waiting for it are worth a warning. */
  readonly persisting: boolean;
  readonly script: ScriptTime;
  /** Outcome names in code order (the page's legend and stacking order). */
  readonly outcomes: readonly string[];
  readonly events: readonly EventSnapshot[];
}

export interface SnapshotSources {
  readonly catalog: Catalog;
  readonly queue: QueueView;
  readonly redis: RedisClient;
  /** The registry holding seckill_redis_script_seconds (Metrics.registry). */
  readonly registry: Registry;
  /** Every process's answer counts for an event (FleetCounts.processes): the view shows their sum. */
  readonly processes: (event: SaleEvent) => Promise<ProcessCounts[]>;
  /** This server's worker restarts (absent without workers). */
  readonly workerRestarts?: () => number;
  /** The sale history this process samples (its newest sample of each event). */
  readonly history: HistorySampler;
  /** MySQL is configured (MYSQL_URL is not `none`). */
  readonly persisting: boolean;
}

const NAMES = OUTCOMES.map((o) => o.name);
const STARTED_AT = Date.now();
const RANK: Readonly<Record<EventSnapshot['state'], number>> = Object.freeze({ open: 0, scheduled: 1, ended: 2 });

/**
 * Builds the dashboard's view of the sale, once per tick. Everything is read
 * here, at tick time, from what the buy path already keeps (each event's
 * answer counts and stock estimate, the queue's sizes, the script-time
 * histogram), plus each event's counts read in one MULTI, as the admin
 * stats route does. Rates are the difference from the previous
 * tick.
 */
export class SnapshotBuilder {
  private readonly previous = new Map<string, { at: number; totals: number[] }>();
  private readonly scriptTime: ScriptTimeWindow;
  private readonly soldOut: SoldOutTimes;

  constructor(
    private readonly sources: SnapshotSources,
    /** Ticks the script-time quantiles are taken over. */
    scriptWindowTicks: number,
  ) {
    this.scriptTime = new ScriptTimeWindow(sources.registry, scriptWindowTicks);
    this.soldOut = new SoldOutTimes(sources.redis);
  }

  /** Forgets the previous tick (rates and the script-time window start again). */
  reset(): void {
    this.previous.clear();
    this.scriptTime.reset();
  }

  async build(now = Date.now()): Promise<Snapshot> {
    const { catalog, queue, redis } = this.sources;
    const events = [...catalog.all()];
    const [replies, script, processes] = await Promise.all([
      this.readRedis(events),
      this.scriptTime.read(now),
      Promise.all(events.map((e) => this.sources.processes(e).catch(() => undefined))),
    ]);
    this.soldOut.keepOnly(events);
    const soldOutAt = await Promise.all(events.map((e, i) => this.soldOut.of(e, replies?.[i]?.remaining ?? null, now).catch(() => null)));
    const live = FleetCounts.queues(processes.flatMap((rows) => rows ?? []), queue.capacity);
    const seen = new Set<string>();
    const views = events.map((e, i) => {
      seen.add(e.id);
      const counts = replies?.[i];
      const remaining = counts?.remaining;
      const rows = processes[i];
      const latest = this.sources.history.latestOf(e);
      return this.eventView(e, rows === undefined ? e.answers : FleetCounts.sum(rows), now, {
        remaining: remaining ?? e.remaining,
        remainingFrom: remaining != null ? 'redis' : 'local',
        unpersisted: counts?.unpersisted ?? null,
        payments: counts === undefined ? null : { due: counts.due, paid: counts.paid, expired: counts.expired },
        buyers: counts?.buyers ?? null,
        sample: latest === undefined ? null : sampleRow(latest),
        soldOutAt: soldOutAt[i] ?? null,
      });
    });
    for (const id of this.previous.keys()) if (!seen.has(id)) this.previous.delete(id);
    // Open sales first, then the next to open, then the most recently ended.
    views.sort((a, b) => RANK[a.state] - RANK[b.state] || (a.state === 'ended' ? b.end - a.end : a.start - b.start) || a.id.localeCompare(b.id));
    return {
      t: now,
      process: { pid: process.pid, host: os.hostname(), startedAt: STARTED_AT },
      redis: redis.status,
      queue: live === undefined ? { waiting: queue.size, parked: queue.live, capacity: queue.capacity } : { waiting: live.waiting, parked: live.parked, capacity: live.capacity },
      processes: live?.processes ?? 1,
      ...(this.sources.workerRestarts === undefined ? {} : { workerRestarts: this.sources.workerRestarts() }),
      persisting: this.sources.persisting,
      script,
      outcomes: NAMES,
      events: views,
    };
  }

  /** Each event's counts at one moment (events/event-counts.ts: one MULTI per event, so per slot on a Cluster); undefined where Redis did not answer. */
  private async readRedis(events: readonly SaleEvent[]): Promise<(EventCounts | undefined)[] | null> {
    if (events.length === 0 || this.sources.redis.status !== 'ready') return null;
    return Promise.all(events.map((e) => readCounts(this.sources.redis, e.keys).catch(() => undefined)));
  }

  private eventView(
    e: SaleEvent,
    counts: AnswerCounts,
    now: number,
    fromRedis: Pick<EventSnapshot, 'remaining' | 'remainingFrom' | 'unpersisted' | 'payments' | 'sample' | 'soldOutAt'> & { buyers: number | null },
  ): EventSnapshot {
    const totals = OUTCOMES.map((o) => counts.total(o.code));
    const prev = this.previous.get(e.id);
    this.previous.set(e.id, { at: now, totals });
    const seconds = prev === undefined ? 0 : (now - prev.at) / 1000;
    const answers: Record<string, number> = {};
    const rates: Record<string, number> = {};
    totals.forEach((n, code) => {
      const name = NAMES[code] as string;
      answers[name] = n;
      rates[name] = prev === undefined || seconds <= 0 ? 0 : Math.max(0, n - (prev.totals[code] ?? 0)) / seconds;
    });
    const { buyers, ...rest } = fromRedis;
    return {
      id: e.id,
      name: e.name,
      stock: e.stock,
      start: e.start,
      end: e.end,
      state: e.state(now),
      ...rest,
      answers,
      rates,
      payWithin: e.payWithin,
      paused: e.paused,
      ...(e.lots
        ? { lots: { limit: e.limit, skus: e.skuIds.map((id, i) => ({ id, stock: e.hasSkus ? (e.skus[id] ?? 0) : e.stock, remaining: e.skuRemaining(i) })) } }
        : {}),
      totals: { requests: totals.reduce((a, b) => a + b, 0), won: counts.total(Outcome.Won), soldOut: counts.total(Outcome.SoldOut), buyers },
      step: sampleStep(e),
    };
  }
}
