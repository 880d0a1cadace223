import type { Decider } from '../admission/admission';
import type { Ledger } from '../admission/ledger';
import type { Parked } from '../admission/parked';
import type { SaleEvent } from '../events/sale-event';
import { Stage } from '../metrics/decisions';
import { Outcome } from '../outcome';
import { DROPPED, type Buy, type Decided } from './protocol';
import { TurnOutbox } from './turn-outbox';

/**
 * A worker's side of the hop to the primary's one consumer. Leaders the
 * prefilter admits are collected during an event-loop turn and sent as one
 * message; the decisions come back one message per batch and are settled
 * through the worker's ledger (reservations, followers, the answers). The
 * worker answers its own requests "timeout" when their deadline passes
 * while the primary decides them (it keeps the reservation until the
 * decision comes).
 */
export class PrimaryLink implements Decider {
  /** The primary answers 10 when Redis is away. */
  readonly redisReady = true;
  private next = 0;
  /** Sent and not yet decided, in the order sent (so deadlines come in order). */
  private readonly waiting = new Map<number, Parked>();
  private readonly out = new TurnOutbox<Omit<Buy, 't'>>(
    () => ({ ids: [], events: [], users: [], deadlines: [], cancel: [] }),
    (o) => this.send({ t: 'buy', ...o }),
  );
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly send: (m: Buy) => void,
    private readonly ledger: Ledger,
    private readonly events: ReadonlyMap<string, SaleEvent>,
  ) {}

  enqueue(p: Parked): void {
    p.ticket = ++this.next;
    this.waiting.set(p.ticket, p);
    const o = this.out.filling();
    o.ids.push(p.ticket);
    o.events.push(p.event.id);
    o.users.push(p.user);
    o.deadlines.push(p.deadline);
  }

  abandoned(p: Parked): void {
    if (!this.waiting.has(p.ticket)) return;
    this.out.filling().cancel.push(p.ticket);
  }

  decided(m: Decided): void {
    for (let i = 0; i < m.ids.length; i++) {
      const id = m.ids[i] as number;
      const p = this.waiting.get(id);
      if (p === undefined) continue;
      this.waiting.delete(id);
      const code = m.codes[i] as number;
      if (code === DROPPED) {
        this.ledger.drop(p);
        continue;
      }
      const order = m.orders[i] ?? 0;
      const stage = (m.stages[i] ?? Stage.Redis) as Stage;
      if (stage === Stage.Redis && (code === Outcome.Won || code === Outcome.AlreadyBought)) p.event.learnWinner(p.user, order);
      this.ledger.settle(p, code as Outcome, order, stage);
    }
    for (const [id, remaining] of m.remaining) this.events.get(id)?.syncRemaining(remaining);
    for (const [id, users, orders] of m.winners) {
      const e = this.events.get(id);
      if (e !== undefined) users.forEach((u, i) => e.learnWinner(u, orders[i] ?? 0));
    }
    if (this.waiting.size === 0) this.notifyIdle();
  }

  /** Answers "timeout" to requests past their deadline (the decision, when it comes, settles them). */
  sweep(now: number): void {
    for (const p of this.waiting.values()) {
      if (p.deadline > now) break;
      this.ledger.answerEarly(p, Outcome.Timeout, Stage.Queue);
    }
  }

  /** Resolves when every leader sent has been decided. */
  idle(): Promise<void> {
    if (this.waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
