import type { SaleEvent } from '../events/sale-event';
import type { Stage } from '../events/answer-counts';
import type { Outcome } from '../outcome';

/** One request the consumer is to decide (a parked leader); the consumer is written against this seam, not Parked. */
export interface Ticket {
  readonly event: SaleEvent;
  readonly user: string;
  readonly deadline: number;
  /** Units asked for (absent: 1). */
  readonly q?: number;
  /** The SKU's index in the event's definition (absent: 0, no SKUs). */
  readonly sku?: number;
  /** Still worth a unit: someone waits for its answer. */
  wanted(): boolean;
}

/** Where the consumer's decisions go. */
export interface TicketSink<T extends Ticket> {
  /** Its outcome is known (from Redis, or the queue: busy, timeout, unavailable); `count` as Reply.answer's. */
  settle(t: T, code: Outcome, order: number, stage: Stage, count?: number): void;
  /** Its deadline passed while Redis decides it: answer now; settle follows. */
  answerEarly(t: T, code: Outcome, stage: Stage): void;
  /** Nobody wants it any more: never decided. */
  drop(t: T): void;
  /** Answers its own waiting requests past `now` (called with the consumer's sweep). */
  sweep?(now: number): void;
}

/** The waiting line the consumer takes from, in arrival order. */
export interface TicketLine<T extends Ticket> {
  readonly size: number;
  readonly full: boolean;
  push(t: T): void;
  peek(): T | undefined;
  shift(): T | undefined;
  /** Takes out every waiting ticket `pred` picks, the others keep their order. */
  extract(pred: (t: T) => boolean): T[];
}
