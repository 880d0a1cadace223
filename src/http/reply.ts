import type { HttpResponse } from 'uWebSockets.js';
import { Channel, type Reply } from '../admission/reply';
import type { Outcome } from '../outcome';
import { writeOutcome, type Format } from './codec';

/** A buy's answer as an HTTP response (status, headers, body; `Connection: close` while shutting down). */
export class HttpReply implements Reply {
  readonly channel = Channel.Http;

  constructor(
    private readonly res: HttpResponse,
    private readonly format: Format,
  ) {}

  answer(code: Outcome, order: number, closing: boolean): void {
    writeOutcome(this.res, code, order, this.format, closing);
  }

  answerLater(code: Outcome, order: number, closing: boolean): void {
    const { res, format } = this;
    res.cork(() => writeOutcome(res, code, order, format, closing));
  }

  parked(gone: () => void): void {
    this.res.onAborted(gone);
  }
}
