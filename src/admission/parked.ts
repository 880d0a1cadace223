import { Outcome } from '../outcome';
import type { Stage } from '../events/answer-counts';
import type { SaleEvent } from '../events/sale-event';
import type { Ticket } from './ticket';
import type { Reply } from './reply';

export interface ShutdownGate {
  readonly closing: boolean;
}

/**
 * A buy request waiting for its answer. The first request of a user is a
 * leader (it holds a reservation and goes to Redis); the same user's repeat
 * clicks while it waits become its followers and get its answer: "won" for
 * the leader means "already bought, order n" for them.
 */
export class Parked implements Ticket {
  /** Answered, or the client went away: never touch `reply` again. */
  done = false;
  followers: Parked[] | undefined = undefined;

  constructor(
    /** Whether the server is shutting down when the answer is written. */
    readonly gate: ShutdownGate,
    readonly reply: Reply,
    readonly event: SaleEvent,
    readonly user: string,
    readonly deadline: number,
    /** Units asked for (an event sold in lots; else 1). */
    readonly q = 1,
    /** The SKU's index in the event's definition (0 without SKUs). */
    readonly sku = 0,
  ) {}

  /** Answers this request (after an async step: corked), once; `count` as Reply.answer's. */
  answer(code: Outcome, order: number, stage: Stage, count = 0): boolean {
    if (this.done) return false;
    this.done = true;
    this.event.answers.count(this.reply.channel, stage, code);
    this.reply.answerLater(code, order, this.gate.closing, count);
    return true;
  }

  /** Its client is there, or a follower's is: a leader whose client left is still worth deciding for them. */
  wanted(): boolean {
    return !this.done || (this.followers !== undefined && this.followers.some((f) => !f.done));
  }
}

/** The answer a follower gets when its leader got `code`. */
export function followerOutcome(code: Outcome): Outcome {
  return code === Outcome.Won ? Outcome.AlreadyBought : code;
}
