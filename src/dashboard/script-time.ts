import type { Registry } from 'prom-client';

/** The buy script's round trip as the dashboard shows it: quantiles over the last few seconds. */
export interface ScriptTime {
  /** Seconds; null when no script call ended in the window. */
  readonly p50: number | null;
  readonly p99: number | null;
  /** Script calls in the window. */
  readonly calls: number;
  /** The window's length in seconds. */
  readonly windowS: number;
}

const HISTOGRAM = 'seckill_redis_script_seconds';

/**
 * Reads the `seckill_redis_script_seconds` histogram that the consumer already
 * fills once per batch, when the dashboard ticks: nothing is added to the buy
 * path. Quantiles come from the difference of the cumulative buckets between
 * now and `windowTicks` reads ago, interpolated inside a bucket as
 * Prometheus' histogram_quantile() does, so they describe the last seconds,
 * not the whole life of the process.
 */
export class ScriptTimeWindow {
  /** Cumulative counts per bucket at each of the last reads, oldest first. */
  private readonly history: { at: number; counts: number[] }[] = [];
  private bounds: number[] = [];

  constructor(
    private readonly registry: Registry,
    private readonly windowTicks: number,
  ) {}

  reset(): void {
    this.history.length = 0;
  }

  async read(now: number): Promise<ScriptTime> {
    const metric = this.registry.getSingleMetric(HISTOGRAM);
    const none: ScriptTime = { p50: null, p99: null, calls: 0, windowS: 0 };
    if (metric === undefined) return none;
    const { values } = await metric.get();
    const bounds: number[] = [];
    const counts: number[] = [];
    for (const v of values) {
      // prom-client names bucket samples <name>_bucket and labels them le.
      const le = v.labels['le'];
      if (le === undefined || !('metricName' in v) || v.metricName !== `${HISTOGRAM}_bucket`) continue;
      bounds.push(le === '+Inf' ? Infinity : Number(le));
      counts.push(v.value);
    }
    this.bounds = bounds;
    this.history.push({ at: now, counts });
    if (this.history.length > this.windowTicks + 1) this.history.shift();
    const first = this.history[0];
    if (first === undefined || first.counts.length !== counts.length) return none;
    const delta = counts.map((c, i) => c - (first.counts[i] ?? 0));
    const calls = delta[delta.length - 1] ?? 0;
    const windowS = (now - first.at) / 1000;
    if (calls <= 0) return { ...none, windowS };
    return { p50: this.quantile(0.5, delta), p99: this.quantile(0.99, delta), calls, windowS };
  }

  /** histogram_quantile() over cumulative bucket counts. */
  private quantile(q: number, cumulative: number[]): number {
    const total = cumulative[cumulative.length - 1] ?? 0;
    const rank = q * total;
    let lower = 0;
    let below = 0;
    for (let i = 0; i < cumulative.length; i++) {
      const upper = this.bounds[i] ?? Infinity;
      const count = cumulative[i] ?? 0;
      if (count >= rank) {
        // Past the last finite bound there is nothing to interpolate to.
        if (upper === Infinity) return lower;
        const inBucket = count - below;
        return inBucket === 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
      }
      lower = upper;
      below = count;
    }
    return lower;
  }
}
