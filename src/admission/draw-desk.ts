import { ReplyError } from 'ioredis';
import { Outcome } from '../outcome';
import { Stage } from '../events/answer-counts';
import { drawScore, entrantKey, SEED_SHAPE } from '../events/draw';
import type { SaleEvent } from '../events/sale-event';
import { logRepeated } from '../log-repeat';
import { DRAW_CLOSED, DRAW_ENTERED, DRAW_STALE, drawDecide, drawEnter, type DrawAnswer, type RedisClient } from '../redis/scripts';
import type { Ticket, TicketSink } from './ticket';

/** How much earlier than Redis' clock says a won order's payment deadline is taken to be (as the consumer's). */
const CLOCK_MARGIN_MS = 1_000;
/** drawDecide answered nothing (a timeout, a dropped connection): it is asked again after this long, doubling. */
const RETRY_MS = 50;

/** drawDecide-9.lua's statuses. */
const DECIDED_NOW = 0;
const DECIDED_BEFORE = 1;
const NOT_YET = 2;

export interface DrawDeskOptions<X extends Ticket> {
  /** Users per drawDecide call. */
  readonly batchSize: number;
  /** Tickets that are not in the draw (it closed, or has none): decide them the normal way (buy-8.lua). */
  readonly buy: (event: SaleEvent, batch: X[]) => Promise<void>;
  /** Redis lost the event: restore it. */
  readonly onLost?: (event: SaleEvent) => void;
  /** This process's copy of the event is stale (another seed): read it again. */
  readonly onStale?: (event: SaleEvent) => void;
  /** Another process paused the event (a draw script answered 16). */
  readonly onPaused?: (event: SaleEvent) => void;
  /** The draw's answer left the event with nothing. */
  readonly onSoldOut?: (event: SaleEvent) => void;
  /** This process's call decided the draw: publish it (news, MySQL). */
  readonly onDrawn?: (event: SaleEvent) => void;
}

/**
 * The draw at the opening, on the consumer's side. While an event's draw is
 * pending, the consumer hands its batches here instead of to the buy script:
 * each batch is one drawEnter-4.lua call (the users enter, by Redis' clock),
 * and the entrants wait here, parked, until the window's close. Then one
 * drawDecide-9.lua call per batch of them decides the draw (the first call
 * of any process does; the others only read) and answers each: won with the
 * order number (and its units), or what is true of the rest (sold out,
 * short, already bought, over the limit). Buys after the close, and entrants whose entry
 * Redis lost, go the normal way. Every call is keyed by the seed the scores
 * were computed with, so a stale copy of the event never enters anyone.
 */
export class DrawDesk<X extends Ticket> {
  /** Per event, entrants waiting for the close, in arrival order. */
  private readonly waiting = new Map<SaleEvent, X[]>();
  private readonly timers = new Map<SaleEvent, NodeJS.Timeout>();
  /** Entrants taken out of `waiting` for a decision not yet answered (swept like them: Redis may not answer for long). */
  private readonly deciding = new Set<X[]>();
  /** drawDecide calls sent and not yet answered. */
  private calls = 0;
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly sink: TicketSink<X>,
    private readonly options: DrawDeskOptions<X>,
    /** Told whenever the desk may have become idle. */
    private readonly idle: () => void,
  ) {}

  /** Entrants waiting, or a decision under way. */
  get busy(): boolean {
    return this.waiting.size > 0 || this.calls > 0;
  }

  /** Enters a batch of the event's buyers into its draw (the consumer's call, in place of the buy script). */
  async enter(event: SaleEvent, batch: X[]): Promise<void> {
    const seed = event.draw.seed;
    if (!SEED_SHAPE.test(seed)) {
      this.options.onStale?.(event);
      return this.fail(batch, Outcome.Unavailable, Stage.Queue);
    }
    const entries = batch.map((t) => {
      const key = entrantKey(t.user);
      return { user: t.user, key, score: drawScore(seed, key), q: t.q ?? 1 };
    });
    let a: DrawAnswer;
    try {
      a = await drawEnter(this.redis, event.keys, seed, entries);
    } catch (err) {
      logRepeated('warn', { event: event.id, size: batch.length, err }, 'draw entry failed');
      // Entering twice is entering once: a retry after a lost reply is harmless.
      return this.fail(batch, Outcome.Unavailable, err instanceof ReplyError ? Stage.Queue : Stage.Redis);
    }
    if (a.status === DRAW_CLOSED) return this.decide(event, batch);
    if (a.status !== 0) return this.refused(event, batch, a.status);
    event.learnDraw({ ...event.draw, entrants: a.entrants });
    let entered = false;
    batch.forEach((t, i) => {
      const code = a.codes[i] as number;
      if (code === DRAW_ENTERED) {
        let line = this.waiting.get(event);
        if (line === undefined) this.waiting.set(event, (line = []));
        line.push(t);
        entered = true;
      } else {
        // 2 (a buyer already; lots: at the limit) or 13 (lots: over it, with the units still allowed).
        this.learn(event, t.user, code as Outcome, a.orders[i] ?? 0, a.counts[i] ?? 0, 0);
        this.sink.settle(t, code as Outcome, a.orders[i] ?? 0, Stage.Redis, a.counts[i] ?? 0);
      }
    });
    if (entered) this.schedule(event, event.start + event.drawMs - Date.now());
  }

  /** A status that answers every user of the call alike. */
  private refused(event: SaleEvent, batch: X[], status: number): void {
    if (status === Outcome.UnknownEvent) this.options.onLost?.(event);
    if (status === DRAW_STALE) this.options.onStale?.(event);
    if (status === Outcome.Paused && !event.paused) {
      event.pause(Date.now());
      this.options.onPaused?.(event);
    }
    const code = status === Outcome.UnknownEvent || status === DRAW_STALE ? Outcome.Unavailable : (status as Outcome);
    this.fail(batch, code, Stage.Redis);
  }

  private schedule(event: SaleEvent, inMs: number): void {
    if (this.closed || this.timers.has(event)) return;
    const timer = setTimeout(() => {
      this.timers.delete(event);
      const line = this.waiting.get(event);
      this.waiting.delete(event);
      if (line !== undefined) void this.decide(event, line);
    }, Math.max(0, inMs));
    this.timers.set(event, timer);
  }

  /**
   * Decides the draw if nobody has (the window closed by Redis' clock) and
   * answers `batch`, one drawDecide call per batch size. A call that gets no
   * answer is made again (it decides once, whoever calls); until then the
   * tickets wait, and the consumer's sweep answers those past their deadline.
   */
  private async decide(event: SaleEvent, batch: X[]): Promise<void> {
    const seed = event.draw.seed;
    this.deciding.add(batch);
    try {
      await this.decideParts(event, seed, batch);
    } finally {
      this.deciding.delete(batch);
    }
    this.idle();
  }

  private async decideParts(event: SaleEvent, seed: string, batch: X[]): Promise<void> {
    for (let i = 0; i < batch.length; i += this.options.batchSize) {
      const part = batch.slice(i, i + this.options.batchSize);
      const payMs = event.payWithin * 1000;
      const sureUntil = Date.now() + payMs - Math.min(CLOCK_MARGIN_MS, payMs / 2);
      let a: DrawAnswer | undefined;
      this.calls++;
      for (let wait = RETRY_MS; a === undefined && !this.closed; wait = Math.min(wait * 2, 1_000)) {
        try {
          a = await drawDecide(this.redis, event.keys, seed, part.map((t) => ({ user: t.user, key: entrantKey(t.user) })));
        } catch (err) {
          logRepeated('warn', { event: event.id, size: part.length, err }, 'draw decision failed: asking again');
          await new Promise((r) => setTimeout(r, wait));
        }
      }
      this.calls--;
      if (a === undefined) {
        this.fail(part, Outcome.Unavailable, Stage.Queue);
        continue;
      }
      await this.answer(event, part, a, sureUntil);
    }
  }

  private async answer(event: SaleEvent, part: X[], a: DrawAnswer, sureUntil: number): Promise<void> {
    if (a.status === NOT_YET) {
      const line = this.waiting.get(event);
      if (line === undefined) this.waiting.set(event, [...part]);
      else line.unshift(...part);
      this.schedule(event, a.x + 1);
      return;
    }
    if (a.status !== DECIDED_NOW && a.status !== DECIDED_BEFORE) return this.refused(event, part, a.status);
    if (event.draw.decided === 0) event.learnDraw({ ...event.draw, decided: Date.now(), entrants: a.entrants });
    const before = event.remaining;
    event.syncRemaining(a.x);
    // Lots (no SKUs with a draw): the one SKU's count is the event's.
    if (event.lots) event.syncSkus([a.x]);
    const normal: X[] = [];
    part.forEach((t, i) => {
      const code = a.codes[i] as number;
      const order = a.orders[i] ?? 0;
      const count = a.counts[i] ?? 0;
      if (code === DRAW_CLOSED) return void normal.push(t);
      this.learn(event, t.user, code as Outcome, order, count, sureUntil);
      this.sink.settle(t, code as Outcome, order, Stage.Redis, count);
    });
    if (!event.lots && a.x <= 0 && a.buyers === event.buyersKnown) event.winnersCompleted(event.winnersGeneration);
    if (a.status === DECIDED_NOW) this.options.onDrawn?.(event);
    if (before > 0 && a.x <= 0) this.options.onSoldOut?.(event);
    if (normal.length > 0) await this.options.buy(event, normal);
  }

  /**
   * What a draw script answered `user`, into the event's memory. On lots a
   * user's every request in the window hears the one entry's result (the
   * same order): its units are added once.
   */
  private learn(event: SaleEvent, user: string, code: Outcome, order: number, count: number, sureUntil: number): void {
    if (!event.lots) return event.heard(user, code, order, sureUntil);
    if (code === Outcome.Won && event.winners.get(user) === order) return;
    event.heardLot(user, code, order, count, sureUntil);
  }

  /** Answers every entrant of `event` waiting here with `code` at once (the event was paused): their entries stand. */
  answerWaiting(event: SaleEvent, code: Outcome): void {
    const line = this.waiting.get(event);
    this.waiting.delete(event);
    const timer = this.timers.get(event);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(event);
    if (line !== undefined) this.fail(line, code, Stage.Queue);
  }

  /** Answers "timeout" now to the entrants past their deadline; each is still settled when the draw is decided. */
  sweep(now: number): void {
    for (const lines of [this.waiting.values(), this.deciding]) {
      for (const line of lines) for (const t of line) if (t.deadline <= now) this.sink.answerEarly(t, Outcome.Timeout, Stage.Queue);
    }
  }

  /** Settles every entrant waiting with `code` (Redis lost, shutdown): their entries stand in Redis. */
  flush(code: Outcome): void {
    for (const event of [...this.waiting.keys()]) this.answerWaiting(event, code);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private fail(batch: X[], code: Outcome, stage: Stage): void {
    for (const t of batch) this.sink.settle(t, code, 0, stage);
  }
}
