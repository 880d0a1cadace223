import type { Reply } from '../admission/reply';
import { Channel } from '../events/answer-counts';
import type { Outcome } from '../outcome';
import { writeOutcome, type Format } from './codec';
import type { Exchange } from './exchange';

/** A buy's answer as an HTTP response (status, headers, body; `Connection: close` while shutting down). */
export class HttpReply implements Reply {
  readonly channel = Channel.Http;

  constructor(
    private readonly x: Exchange,
    private readonly format: Format,
  ) {}

  answer(code: Outcome, order: number, closing: boolean, count = 0): void {
    writeOutcome(this.x, code, order, this.format, closing, count);
  }

  answerLater(code: Outcome, order: number, closing: boolean, count = 0): void {
    const { x, format } = this;
    x.later(() => writeOutcome(x, code, order, format, closing, count));
  }

  parked(gone: () => void): void {
    this.x.onAbort(gone);
  }
}
