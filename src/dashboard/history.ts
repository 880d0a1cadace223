import { readCounts } from '../events/event-counts';
import type { SaleEvent } from '../events/sale-event';
import { logRepeated } from '../log-repeat';
import { FleetCounts } from '../metrics/fleet-counts';
import { OUTCOME_COUNT, OUTCOMES } from '../outcome';
import type { RedisClient } from '../redis/scripts';

/**
 * How much of a sale the history keeps. A sale is sampled from `leadMs`
 * before its start to `tailMs` after its end, once a second, or every few
 * seconds when that window is longer than `maxSamples` seconds (2 h): an
 * event's stream never holds more than `maxSamples` entries (XADD MAXLEN),
 * about 0.5 MB of Redis at most, and expires `keepMs` after its last sample.
 */
export const HISTORY_LIMITS = Object.freeze({
  maxSamples: 7_200,
  leadMs: 60_000,
  tailMs: 60_000,
  keepMs: 7 * 24 * 3600 * 1000,
});

/** Past the second, so the counts every process published in that second are in. */
const TICK_OFFSET_MS = 250;

/** One moment of a sale, as every process of every server saw it. */
export interface Sample {
  /** Epoch ms: the start of the sample's step. */
  readonly t: number;
  /** Units left (Redis' count). */
  readonly remaining: number;
  /** Answers so far, summed over every process, one per outcome in OUTCOMES' order (stored by code: see FIELD). */
  readonly counts: readonly number[];
}

/** A sample as the page and the history route carry it: `[t, remaining, ...answers by outcome code]`. */
export function sampleRow(s: Sample): number[] {
  return [s.t, s.remaining, ...s.counts];
}

type Window = Readonly<{ start: number; end: number }>;

/** Milliseconds between two samples of a sale: 1 s, or more for a sale too long for maxSamples of them. */
export function sampleStep(e: Window): number {
  const span = e.end - e.start + HISTORY_LIMITS.leadMs + HISTORY_LIMITS.tailMs;
  return Math.max(1, Math.ceil(span / HISTORY_LIMITS.maxSamples / 1000)) * 1000;
}

/** The part of time a sale's samples are taken in (epoch ms, both ends included). */
export function sampleWindow(e: Window): { from: number; to: number } {
  return { from: e.start - HISTORY_LIMITS.leadMs, to: e.end + HISTORY_LIMITS.tailMs };
}

/**
 * The stream field of a sample: `c` = units left, then the answers indexed
 * by outcome code (a gap, or a code this server does not have, is 0). By
 * code, so a code added later (in a gap or at the end) never moves the
 * columns of samples already kept. `v` was the first format: the answers in
 * the order of the outcome list of then, whose codes are LEGACY_V_CODES.
 */
const FIELD = 'c';
const LEGACY_FIELD = 'v';
const LEGACY_V_CODES: readonly number[] = Object.freeze([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16]);

function encode(s: Sample): string {
  const byCode = new Array<number>(OUTCOME_COUNT).fill(0);
  OUTCOMES.forEach((o, i) => (byCode[o.code] = s.counts[i] ?? 0));
  return `${s.remaining},${byCode.join(',')}`;
}

/** A stream entry back into a sample; undefined for one that is not ours. A code the entry lacks reads as 0. */
function decode(id: string, fields: readonly string[]): Sample | undefined {
  const t = Number(id.slice(0, id.indexOf('-')));
  const field = fields[0];
  const v = field === FIELD || field === LEGACY_FIELD ? fields[1] : undefined;
  if (!Number.isSafeInteger(t) || v === undefined) return undefined;
  const [remaining, ...rest] = v.split(',').map(Number);
  if (remaining === undefined || !Number.isFinite(remaining) || rest.some((n) => !Number.isFinite(n))) return undefined;
  const byCode = new Map<number, number>();
  rest.forEach((n, i) => byCode.set(field === FIELD ? i : (LEGACY_V_CODES[i] ?? -1), n));
  return { t, remaining, counts: OUTCOMES.map((o) => byCode.get(o.code) ?? 0) };
}

/**
 * The samples of an event's current sale, oldest first: the stream's
 * entries inside its sample window (an older sale under the same id, like
 * the demo started anew, lies before it and is left out).
 */
export async function readHistory(redis: RedisClient, e: SaleEvent): Promise<Sample[]> {
  const { from, to } = sampleWindow(e);
  const entries = await redis.xrange(e.keys.history, String(from), String(to));
  const samples: Sample[] = [];
  for (const [id, fields] of entries) {
    const s = decode(id, fields);
    if (s !== undefined) samples.push(s);
  }
  return samples;
}

/**
 * The first sample at 0 units left: when the sale sold out, to the step (a
 * step that began before the start counts: the sample is read within it).
 * Null when none is.
 */
export function firstSoldOut(samples: readonly Sample[], e: Window): number | null {
  const from = e.start - sampleStep(e);
  for (const s of samples) if (s.remaining === 0 && s.t > from) return s.t;
  return null;
}

/**
 * Samples each sale into Redis once a second (`sk:{E}:history`, a stream),
 * whether or not anyone watches, so a page opened later, on any worker of
 * any server, draws the whole sale. Every process runs one; the entry id is
 * the step's start (`<ms>-0`), so the first process to write a step writes
 * it and Redis refuses the others' copies (an id not above the stream's
 * last). What a sample holds is what every process reads alike: Redis'
 * count and the answers each process published (FleetCounts.published), so
 * whichever process wrote a step, the counts only rise.
 *
 * Off the buy path: per event in its window, one MULTI of counts, one
 * HGETALL of the published answers and one XADD a second, per process.
 */
export class HistorySampler {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private closed = false;
  /** The last sample this process took per event (the live tail the dashboard streams). */
  private readonly latest = new Map<string, Sample>();

  constructor(
    private readonly redis: RedisClient,
    private readonly events: () => Iterable<SaleEvent>,
  ) {}

  start(): void {
    if (this.closed || this.timer !== undefined) return;
    const arm = (): void => {
      const now = Date.now();
      this.timer = setTimeout(
        () => {
          void this.sample().finally(() => {
            if (!this.closed) arm();
          });
        },
        1000 - ((now - TICK_OFFSET_MS + 1000) % 1000),
      );
      this.timer.unref();
    };
    arm();
  }

  /** The newest sample this process took of `event`'s sale (undefined outside its window). */
  latestOf(event: SaleEvent): Sample | undefined {
    const s = this.latest.get(event.id);
    return s !== undefined && s.t >= sampleWindow(event).from ? s : undefined;
  }

  /** Takes one sample of every sale in its window (the timer calls it; tests call it with their own clock). */
  async sample(now = Date.now()): Promise<void> {
    if (this.busy || this.redis.status !== 'ready') return;
    this.busy = true;
    try {
      const due: SaleEvent[] = [];
      for (const e of this.events()) {
        const { from, to } = sampleWindow(e);
        const step = sampleStep(e);
        const t = Math.floor(now / step) * step;
        if (now < from || now > to || (this.latest.get(e.id)?.t ?? -1) >= t) continue;
        due.push(e);
      }
      await Promise.all(due.map((e) => this.sampleEvent(e, now)));
    } finally {
      this.busy = false;
    }
  }

  private async sampleEvent(e: SaleEvent, now: number): Promise<void> {
    const step = sampleStep(e);
    const t = Math.floor(now / step) * step;
    try {
      const [counts, answers] = await Promise.all([readCounts(this.redis, e.keys), FleetCounts.published(this.redis, e)]);
      // Being restored, or lost: no count to draw.
      if (counts.remaining === null) return;
      const sample: Sample = { t, remaining: counts.remaining, counts: OUTCOMES.map((o) => answers.total(o.code)) };
      this.latest.set(e.id, sample);
      const replies = await this.redis
        .pipeline()
        .xadd(e.keys.history, 'MAXLEN', '~', HISTORY_LIMITS.maxSamples, `${t}-0`, FIELD, encode(sample))
        .pexpire(e.keys.history, HISTORY_LIMITS.keepMs)
        .exec();
      const err = replies?.[0]?.[0];
      // Another process wrote this step first: the same moment, already there.
      if (err && !/equal or smaller/.test(err.message)) throw err;
    } catch (err) {
      logRepeated('warn', { err, event: e.id }, 'dashboard history sample failed');
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
