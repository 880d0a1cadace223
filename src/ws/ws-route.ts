import type { Admission, EventLookup } from '../admission/admission';
import type { AddressKey } from '../admission/address-key';
import { Channel, Stage, type AnswerCounts } from '../events/answer-counts';
import type { VerifyUser } from '../auth/jwt';
import { Format, formatOf, writeMethodNotAllowed, writeOutcome, writeUpgradeRequired } from '../http/codec';
import { clientAddress } from '../http/client-address';
import type { Routes } from '../http/routes';
import { log } from '../log';
import { Outcome } from '../outcome';
import { CLOSE_GOING_AWAY, Connection, WsReply } from './connection';
import { frameFits, isRequest, readFrame } from './frames';
import { SalePushes } from './pushes';

export interface WsRouteOptions {
  readonly admission: Admission;
  readonly events: EventLookup;
  readonly verifyUser: VerifyUser;
  /** Answers refused before an event was found. */
  readonly refused: AnswerCounts;
  /** Undecided buys per connection at most; past it: 5. */
  readonly inflight: number;
  /** False when no new connection should be taken (the park queue is full): the upgrade gets 503. */
  readonly roomForMore: () => boolean;
  /** SECKILL_IP_RATE on: the upgrade request's client address, which each of the connection's buys counts against. */
  readonly addressKey?: AddressKey;
}

/** The WebSocket front of one process: its pushes, and closing every connection at shutdown. */
export interface WsFront {
  readonly pushes: SalePushes;
  /** Connections open now. */
  readonly size: number;
  /** Closes every connection (1001, going away); call once parked buys are answered. */
  close(): void;
}

/** uWS copies the user data's own properties onto the socket, so the Connection (with its methods) rides in one. */
interface Held {
  readonly conn: Connection;
}

/**
 * A slow reader's outgoing buffer may hold this much (about 5,000 answer
 * frames) before the connection is closed. Closing, not dropping: a dropped
 * frame could be someone's "won"; a closed client reconnects and asks
 * again, and a buy is idempotent per user (it gets 2 and its order).
 */
const MAX_BACKPRESSURE = 64 * 1024;
/** Seconds without traffic before a connection is closed; uWS pings before that, so only dead peers are dropped. */
const IDLE_TIMEOUT_S = 120;
/** The size uWS itself refuses, abruptly; frames between MAX_FRAME and this are closed with 1009. */
const HARD_MAX_FRAME = 16 * 1024;
/** WebSocket close code: message too big (RFC 6455 §7.4.1). */
const CLOSE_TOO_BIG = 1009;

/** The token at the upgrade: the authorization header, or `?access_token=` (RFC 6750 §2.3) for browsers. */
function credentials(authorization: string, accessToken: string | undefined): string {
  if (authorization !== '') return authorization;
  if (accessToken === undefined || accessToken === '') return '';
  try {
    return `Bearer ${decodeURIComponent(accessToken)}`;
  } catch {
    return 'Bearer -';
  }
}

/**
 * GET /ws: buys and sale pushes over binary MessagePack frames (the
 * protocol is in the README and src/ws/frames.ts). A buy goes through the
 * same Admission as an HTTP buy; only its answer is a frame.
 */
export function registerWsRoute(routes: Routes, o: WsRouteOptions): WsFront {
  const pushes = new SalePushes(routes.app);
  const open = new Set<Connection>();

  const subscribe = (conn: Connection, eventId: string): boolean => {
    const event = o.events.get(eventId);
    if (event === undefined) return false;
    if (conn.topics.has(eventId) || conn.ws === undefined) return true;
    conn.topics.add(eventId);
    pushes.subscribe(conn.ws, event);
    return true;
  };

  const onFrame = (conn: Connection, data: ArrayBuffer, isBinary: boolean): void => {
    const frame = readFrame(data, isBinary);
    if (!isRequest(frame)) {
      o.refused.count(Channel.Ws, Stage.Http, Outcome.BadRequest);
      return conn.send(frame.id, Outcome.BadRequest, 0);
    }
    const { id, event, token, solution, q, sku } = frame;
    if (id === 0) {
      if (subscribe(conn, event)) return;
      o.refused.count(Channel.Ws, Stage.Http, Outcome.UnknownEvent);
      return conn.send(0, Outcome.UnknownEvent, 0);
    }
    const known = subscribe(conn, event);
    if (known && conn.pending.size >= o.inflight) {
      o.events.get(event)?.answers.count(Channel.Ws, Stage.Queue, Outcome.Busy);
      return conn.send(id, Outcome.Busy, 0);
    }
    const user = token === undefined ? conn.user : o.verifyUser(`Bearer ${token}`);
    o.admission.buy(new WsReply(conn, id), event, user, conn.address, o.admission.wantsProof ? solution : undefined, q, sku);
  };

  routes.ws<Held>('/ws', {
    // uWS drops a frame over this without a close frame (the client sees 1006); up to it, a frame
    // over MAX_FRAME (MAX_POW_FRAME for a buy with a solved challenge) gets a proper 1009 close below.
    maxPayloadLength: HARD_MAX_FRAME,
    maxBackpressure: MAX_BACKPRESSURE,
    // Typed as a number in these typings; uWS reads it as a boolean.
    closeOnBackpressureLimit: 1,
    idleTimeout: IDLE_TIMEOUT_S,
    sendPingsAutomatically: true,
    upgrade: (x, req, context) => {
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const cred = credentials(req.getHeader('authorization'), req.getQuery('access_token'));
      const address = o.addressKey === undefined ? undefined : clientAddress(o.addressKey, x, req);
      if (o.admission.closing || !o.roomForMore()) {
        o.refused.count(Channel.Ws, Stage.Http, Outcome.Unavailable);
        return writeOutcome(x, Outcome.Unavailable, 0, Format.Json);
      }
      const user = cred === '' ? undefined : o.verifyUser(cred, x);
      if (cred !== '' && user === undefined) {
        o.refused.count(Channel.Ws, Stage.Http, Outcome.Unauthorized);
        return writeOutcome(x, Outcome.Unauthorized, 0, Format.Json);
      }
      x.upgrade<Held>({ conn: new Connection(user, address) }, key, protocol, extensions, context);
    },
    open: (ws) => {
      const { conn } = ws.getUserData();
      conn.ws = ws;
      open.add(conn);
    },
    message: (ws, data, isBinary) => {
      const { conn } = ws.getUserData();
      if (!frameFits(data)) {
        conn.ws = undefined;
        return ws.end(CLOSE_TOO_BIG, 'frame too big');
      }
      try {
        onFrame(conn, data, isBinary);
      } catch (err) {
        // Nothing may cross a uWS callback: log it and drop this connection, the server goes on.
        log.error({ err }, 'websocket frame failed');
        conn.ws?.end(1011, 'internal error');
      }
    },
    close: (ws) => {
      const { conn } = ws.getUserData();
      open.delete(conn);
      conn.closed();
    },
  });

  // uWS hands a GET that is no upgrade on to the next route: 426, the upgrade it lacks; another method: 405.
  routes.get('/ws', (x, req) => writeUpgradeRequired(x, formatOf(req.getHeader('accept'))));
  routes.any('/ws', (x, req) => writeMethodNotAllowed(x, 'GET', formatOf(req.getHeader('accept'))));

  return {
    pushes,
    get size() {
      return open.size;
    },
    close() {
      pushes.close();
      for (const conn of open) conn.ws?.end(CLOSE_GOING_AWAY, 'server stopping');
    },
  };
}
