import { Cluster } from 'ioredis';
import type { SaleEvent } from '../events/sale-event';
import { log } from '../log';
import { REFUSED_KEY } from '../redis/keys';
import type { RedisClient } from '../redis/scripts';
import { AnswerCounts } from '../events/answer-counts';

/** How often each process publishes its counts. */
export const PUBLISH_EVERY_MS = 1_000;
/** A process whose counts are older than this (and that did not stop gracefully) is shown as gone. */
export const LIVE_WITHIN_MS = 5_000;
/** The count hashes outlive the last process that wrote them this long. */
const KEEP_MS = 7 * 24 * 3600 * 1000;

/**
 * A worker's process id: `<instance>/w<index>`, and `r<restarts>` after it
 * when it was started after a restart (the primary's restart count, which
 * only grows): each incarnation of a worker publishes under its own id, so a
 * replacement never overwrites the counts its dead predecessor published.
 */
export function workerProcessId(instance: string, index: number, restarts: number): string {
  return `${instance}/w${index}${restarts > 0 ? `r${restarts}` : ''}`;
}

/** A worker id's slot (`<instance>/w<index>`) and incarnation (its `r<n>`, else 0); undefined for another id. */
function incarnationOf(id: string): { slot: string; n: number } | undefined {
  const m = /^(.*\/w\d+)(?:r(\d+))?$/.exec(id);
  return m === null ? undefined : { slot: m[1] as string, n: Number(m[2] ?? 0) };
}

/** What one process published: when, its queue, its answers. */
export interface ProcessCounts {
  /** `<instance>/<process>`: the instance is a host and its primary's pid. */
  readonly id: string;
  /** Epoch ms of the publication. */
  readonly at: number;
  /** Published at a graceful stop: final, never "gone". */
  readonly final: boolean;
  readonly live: boolean;
  readonly waiting: number;
  readonly parked: number;
  /** Its queue's bound (0 when published by a version that did not say). */
  readonly capacity: number;
  readonly answers: AnswerCounts;
}

/** This process's own sources. */
export interface LocalCounts {
  readonly events: () => Iterable<SaleEvent>;
  readonly refused: AnswerCounts;
  readonly queue: { readonly size: number; readonly live: number; readonly capacity: number };
}

function encode(at: number, final: boolean, waiting: number, parked: number, capacity: number, counts: AnswerCounts): string {
  return `${at},${final ? 1 : 0},${waiting},${parked},${capacity}|${counts.serialize()}`;
}

function decode(id: string, value: string, now: number): ProcessCounts | undefined {
  const bar = value.indexOf('|');
  const head = value.slice(0, bar).split(',').map(Number);
  const [at, final, waiting, parked, capacity] = head;
  if (bar < 0 || at === undefined || final === undefined || waiting === undefined || parked === undefined) return undefined;
  const answers = AnswerCounts.parse(value.slice(bar + 1));
  if (answers === undefined) return undefined;
  return { id, at, final: final === 1, live: final !== 1 && now - at < LIVE_WITHIN_MS, waiting, parked, capacity: capacity ?? 0, answers };
}

/** A worker with a later incarnation in `rows` is dead (it was replaced): not live, whatever the age of its last copy. */
function replaced(rows: ProcessCounts[]): ProcessCounts[] {
  const latest = new Map<string, number>();
  for (const r of rows) {
    const inc = incarnationOf(r.id);
    if (inc !== undefined) latest.set(inc.slot, Math.max(latest.get(inc.slot) ?? 0, inc.n));
  }
  return rows.map((r) => {
    const inc = incarnationOf(r.id);
    return r.live && inc !== undefined && inc.n < (latest.get(inc.slot) ?? 0) ? { ...r, live: false } : r;
  });
}

/**
 * The whole sale in one view: every process (each worker of each instance)
 * publishes its answer counts about once a second into a hash per event
 * (`sk:{E}:answers`, field = process id) and one for answers refused before
 * an event was found (`sk:refused`). The admin stats, the dashboard and
 * /metrics read the sums. Off the buy path: the buy path only increments
 * its in-memory counts. A graceful stop publishes a final copy, so the totals
 * stay whole; a process that died keeps its last publication (at most a
 * second behind) and is shown as gone.
 */
export class FleetCounts {
  private timer: NodeJS.Timeout | undefined;
  private publishing: Promise<void> | undefined;
  /** What was last published per event, to skip events whose counts did not change. */
  private readonly sent = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    /** `<instance>/<process>`. */
    readonly id: string,
    private readonly local: LocalCounts,
  ) {}

  /** The instance part of the id: the processes of one server. */
  get instance(): string {
    return this.id.slice(0, this.id.lastIndexOf('/'));
  }

  start(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(() => void this.publish(false), PUBLISH_EVERY_MS);
    this.timer.unref();
  }

  /** Publishes what changed (every event at least every LIVE_WITHIN_MS / 2, so the process reads as live). */
  publish(final: boolean): Promise<void> {
    if (this.publishing !== undefined) return final ? this.publishing.then(() => this.publish(true)) : this.publishing;
    const now = Date.now();
    const { size, live, capacity } = this.local.queue;
    const writes: [string, string][] = [];
    const add = (key: string, counts: AnswerCounts): void => {
      const previous = this.sent.get(key);
      // Nothing answered yet: nothing to say.
      if (previous === undefined && counts.empty) return;
      const value = encode(now, final, size, live, capacity, counts);
      // Unchanged and recent: nothing to say.
      if (!final && previous !== undefined && previous.slice(previous.indexOf('|')) === value.slice(value.indexOf('|')) && now - Number(previous.slice(0, previous.indexOf(','))) < LIVE_WITHIN_MS / 2) return;
      writes.push([key, value]);
    };
    add(REFUSED_KEY, this.local.refused);
    for (const e of this.local.events()) add(e.keys.answers, e.answers);
    if (writes.length === 0 || this.redis.status !== 'ready') return Promise.resolve();
    const pipeline = this.redis instanceof Cluster ? undefined : this.redis.pipeline();
    const run = async (): Promise<void> => {
      if (pipeline !== undefined) {
        for (const [key, value] of writes) pipeline.hset(key, this.id, value).pexpire(key, KEEP_MS);
        await pipeline.exec();
      } else {
        // A Cluster pipeline must stay in one slot: one small pipeline per key.
        await Promise.all(writes.map(([key, value]) => this.redis.pipeline().hset(key, this.id, value).pexpire(key, KEEP_MS).exec()));
      }
      for (const [key, value] of writes) this.sent.set(key, value);
    };
    this.publishing = run()
      .catch((err: unknown) => log.debug({ err: (err as Error).message }, 'could not publish the answer counts'))
      .finally(() => (this.publishing = undefined));
    return this.publishing;
  }

  /** Every process's latest counts for `event` (this process's from memory), oldest process first. */
  async processes(event: SaleEvent | undefined): Promise<ProcessCounts[]> {
    const key = event?.keys.answers ?? REFUSED_KEY;
    const now = Date.now();
    const all = await this.redis.hgetall(key);
    const rows: ProcessCounts[] = [];
    for (const [id, value] of Object.entries(all)) {
      if (id === this.id) continue;
      const row = decode(id, value, now);
      if (row !== undefined) rows.push(row);
    }
    const own = event?.answers ?? this.local.refused;
    const { size, live, capacity } = this.local.queue;
    rows.push({ id: this.id, at: now, final: false, live: true, waiting: size, parked: live, capacity, answers: own });
    return replaced(rows).sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * The queues of the live processes in `rows`, summed, each process once
   * (rows of several events name the same processes): `ownCapacity` stands
   * for a bound a process did not publish. Undefined when none is live.
   */
  static queues(rows: Iterable<ProcessCounts>, ownCapacity: number): { waiting: number; parked: number; capacity: number; processes: number } | undefined {
    const counted = new Set<string>();
    const q = { waiting: 0, parked: 0, capacity: 0, processes: 0 };
    for (const r of rows) {
      if (!r.live || counted.has(r.id)) continue;
      counted.add(r.id);
      q.waiting += r.waiting;
      q.parked += r.parked;
      q.capacity += r.capacity || ownCapacity;
    }
    q.processes = counted.size;
    return q.processes === 0 ? undefined : q;
  }

  /**
   * The sum of what every process published for `event` (this process's last
   * copy too, not its newer counts in memory): processes that read it at the
   * same moment read the same sum, so the dashboard's history, sampled by
   * whichever process comes first, only ever rises (src/dashboard/history.ts).
   */
  static async published(redis: RedisClient, event: SaleEvent): Promise<AnswerCounts> {
    const total = new AnswerCounts();
    for (const [id, value] of Object.entries(await redis.hgetall(event.keys.answers))) {
      const row = decode(id, value, 0);
      if (row !== undefined) total.add(row.answers);
    }
    return total;
  }

  /** The sum over `rows` (every process, or those of one instance). */
  static sum(rows: readonly ProcessCounts[]): AnswerCounts {
    const total = new AnswerCounts();
    for (const r of rows) total.add(r.answers);
    return total;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.publish(true);
  }
}
