import { logRepeated } from '../log-repeat';
import { SnapshotBuilder, type SnapshotSources } from './snapshot';

/** One open dashboard stream, as the feed sees it. */
export interface Subscriber {
  /** Sends one SSE frame (already formatted). */
  send(frame: string): void;
  /** The server is stopping: end the stream. */
  end(): void;
}

export interface FeedOptions {
  /** Time between snapshots. */
  readonly tickMs: number;
  /** Open streams at most; each costs a socket and a write per tick. */
  readonly maxSubscribers: number;
  /** Seconds the script-time quantiles cover. */
  readonly scriptWindowS: number;
}

export const FEED_DEFAULTS: FeedOptions = Object.freeze({ tickMs: 500, maxSubscribers: 16, scriptWindowS: 10 });

/**
 * Ticks while at least one dashboard is connected, and only then: a server
 * nobody watches pays nothing. Each tick builds one snapshot, formats it
 * once as an SSE frame, and hands the same string to every stream. A tick
 * that is still waiting for Redis when the next one is due skips that one.
 */
export class DashboardFeed {
  private readonly subscribers = new Set<Subscriber>();
  private readonly builder: SnapshotBuilder;
  private timer: NodeJS.Timeout | undefined;
  private building = false;
  private last: string | undefined;
  private closed = false;

  constructor(
    sources: SnapshotSources,
    readonly options: FeedOptions = FEED_DEFAULTS,
  ) {
    this.builder = new SnapshotBuilder(sources, Math.max(1, Math.round((options.scriptWindowS * 1000) / options.tickMs)));
  }

  /** Whether subscribe() would take one more stream. */
  get accepting(): boolean {
    return !this.closed && this.subscribers.size < this.options.maxSubscribers;
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Adds a stream; false when the feed is full or closed. Returns the unsubscribe function otherwise. */
  subscribe(s: Subscriber): (() => void) | false {
    if (this.closed || this.subscribers.size >= this.options.maxSubscribers) return false;
    this.subscribers.add(s);
    if (this.last !== undefined) s.send(this.last);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.options.tickMs);
      this.timer.unref();
      this.tick();
    }
    return () => {
      this.subscribers.delete(s);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.last = undefined;
    // The next watcher's first rates must not average over the time nobody watched.
    this.builder.reset();
  }

  private tick(): void {
    if (this.building) return;
    this.building = true;
    this.builder
      .build()
      .then(
        (snapshot) => {
          if (this.subscribers.size === 0) return;
          const frame = `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
          this.last = frame;
          for (const s of this.subscribers) s.send(frame);
        },
        (err: unknown) => logRepeated('warn', { err }, 'dashboard snapshot failed'),
      )
      .finally(() => {
        this.building = false;
      });
  }

  /** Ends every stream (the server is stopping). */
  close(): void {
    this.closed = true;
    this.stop();
    for (const s of [...this.subscribers]) s.end();
    this.subscribers.clear();
  }
}
