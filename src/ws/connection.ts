import type { WebSocket } from 'uWebSockets.js';
import type { Reply } from '../admission/reply';
import { Channel } from '../events/answer-counts';
import { Outcome } from '../outcome';
import { answerFrame } from './frames';

/** Protocol errors (codes 7, 8, 9) one connection may make before it is closed with 1008. */
export const MAX_ERRORS = 10;

/** WebSocket close codes (RFC 6455 §7.4.1). */
export const CLOSE_POLICY = 1008;
export const CLOSE_GOING_AWAY = 1001;

/**
 * One WebSocket connection's state (its uWS user data): the user its
 * upgrade token named, if any; the client address key of its upgrade
 * request (only while SECKILL_IP_RATE is on); its buys still undecided,
 * each released if the connection closes first; and its protocol error
 * count.
 */
export class Connection {
  ws: WebSocket<{ readonly conn: Connection }> | undefined = undefined;
  errors = 0;
  /** Undecided buys: each one's "client left" callback. */
  readonly pending = new Set<WsReply>();
  /** Event ids this connection is subscribed to (so subscribe is called once per event). */
  readonly topics = new Set<string>();

  constructor(
    readonly user: string | undefined,
    /** Every buy on this connection counts against it (SECKILL_IP_RATE). */
    readonly address?: string,
  ) {}

  /** Sends one answer frame (inside a uWS callback or a cork). Counts protocol errors; the tenth closes the connection. */
  send(id: number, code: Outcome, order: number, count = 0): void {
    const ws = this.ws;
    if (ws === undefined) return;
    // Over maxBackpressure the connection is closed (closeOnBackpressureLimit): see ws-route.ts.
    ws.send(answerFrame(id, code, order, count), true);
    if (code === Outcome.UnknownEvent || code === Outcome.Unauthorized || code === Outcome.BadRequest) {
      if (++this.errors >= MAX_ERRORS) {
        this.ws = undefined;
        ws.end(CLOSE_POLICY, 'too many protocol errors');
      }
    }
  }

  /** The socket closed: never write to it again; release every parked buy. */
  closed(): void {
    this.ws = undefined;
    for (const r of this.pending) r.leave();
    this.pending.clear();
  }
}

/** One buy's answer as a frame `[id, code]` / `[id, code, order]` / `[id, code, order, count]` on its connection. */
export class WsReply implements Reply {
  readonly channel = Channel.Ws;
  private gone: (() => void) | undefined = undefined;

  constructor(
    private readonly conn: Connection,
    private readonly id: number,
  ) {}

  answer(code: Outcome, order: number, _closing?: boolean, count = 0): void {
    this.conn.send(this.id, code, order, count);
  }

  answerLater(code: Outcome, order: number, _closing?: boolean, count = 0): void {
    const { conn } = this;
    conn.pending.delete(this);
    const ws = conn.ws;
    if (ws !== undefined) ws.cork(() => conn.send(this.id, code, order, count));
  }

  parked(gone: () => void): void {
    this.gone = gone;
    this.conn.pending.add(this);
  }

  /** Its connection closed while it was parked. */
  leave(): void {
    this.gone?.();
  }
}
