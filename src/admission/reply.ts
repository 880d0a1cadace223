import type { Channel } from '../events/answer-counts';
import type { Outcome } from '../outcome';

/**
 * How admission answers one buy without knowing the transport: HTTP writes
 * a status line, headers and a body; WebSocket sends one binary frame. Each
 * transport owns its socket code; admission only calls these.
 */
export interface Reply {
  readonly channel: Channel;
  /**
   * Answers now, inside the transport's own callback. `closing`: the server
   * is shutting down. `count` (an event sold in lots): a win's units, 13's
   * units the user may still buy, 14's units left; else 0.
   */
  answer(code: Outcome, order: number, closing: boolean, count?: number): void;
  /** Answers after an asynchronous step (the transport corks). */
  answerLater(code: Outcome, order: number, closing: boolean, count?: number): void;
  /**
   * The request was parked: call `gone` if its client leaves before
   * answerLater (then never write to it). Registered before anything
   * asynchronous happens.
   */
  parked(gone: () => void): void;
}
