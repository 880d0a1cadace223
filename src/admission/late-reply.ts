import type { Outcome } from '../outcome';
import type { Reply } from './reply';

/**
 * A Reply for a request that must wait for I/O before admission runs (its
 * event was not known here yet). The client's leaving is registered with the
 * transport once, now; a later `parked` only names who to tell. Every answer
 * is written as after an asynchronous step (corked), and none once the
 * client has left.
 */
export class LateReply implements Reply {
  private gone: (() => void) | undefined;
  /** The client left while the request waited. */
  left = false;

  constructor(private readonly inner: Reply) {
    inner.parked(() => {
      this.left = true;
      this.gone?.();
    });
  }

  get channel(): Reply['channel'] {
    return this.inner.channel;
  }

  answer(code: Outcome, order: number, closing: boolean): void {
    if (!this.left) this.inner.answerLater(code, order, closing);
  }

  answerLater(code: Outcome, order: number, closing: boolean): void {
    if (!this.left) this.inner.answerLater(code, order, closing);
  }

  parked(gone: () => void): void {
    this.gone = gone;
  }
}
