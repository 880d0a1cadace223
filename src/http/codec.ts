import { Packr } from 'msgpackr';
import { OUTCOME_BY_CODE, Outcome } from '../outcome';
import type { Exchange } from './exchange';

/**
 * Outcome → bytes. Everything constant is built once here. Bandwidth is the
 * bottleneck on small links, so an answer carries only what HTTP needs: the
 * status line (no reason phrase past "200 OK": RFC 9112 allows an empty one
 * and clients ignore it), the Date header uWS always writes, Content-Length,
 * the headers a status requires (Allow on 405, WWW-Authenticate on 401,
 * Retry-After on 429 and 503: when a retry may succeed, in seconds), and
 * a body of a few bytes: `{"c":code}` plus `"o":order` for codes 0 and 2
 * (and a count on an event sold in lots: `"q"` on 0 when over 1, `"k"` on 13, `"n"` on 14), or
 * the same map as MessagePack on `accept: application/msgpack`.
 */
const packr = new Packr({ useRecords: false });

export enum Format {
  Json = 0,
  Msgpack = 1,
}

export const MSGPACK_TYPE = 'application/msgpack';

// Indexed by code.
const STATUS = OUTCOME_BY_CODE.map((o) => o?.status ?? 500);
const JSON_BODY = OUTCOME_BY_CODE.map((_, code) => `{"c":${code}}`);
const MSGPACK_BODY = OUTCOME_BY_CODE.map((_, code) => packr.pack({ c: code }));

/** The key of an answer's count, by code: q for a win (when over 1), k for over_limit, n for short. */
const COUNT_KEY = OUTCOME_BY_CODE.map((_, code) => (code === Outcome.Won ? 'q' : code === Outcome.OverLimit ? 'k' : code === Outcome.Short ? 'n' : ''));

/** An answer with a count (an event sold in lots): `{"c":0,"o":7,"q":2}`, `{"c":13,"k":1}`, `{"c":14,"n":3}`. */
function countedBody(code: Outcome, order: number, count: number, format: Format): string | Buffer {
  const key = COUNT_KEY[code] ?? '';
  if (format === Format.Msgpack) {
    const map: Record<string, number> = { c: code };
    if (order > 0) map.o = order;
    if (key !== '') map[key] = count;
    return packr.pack(map);
  }
  return `{"c":${code}${order > 0 ? `,"o":${order}` : ''}${key !== '' ? `,"${key}":${count}` : ''}}`;
}

function body(code: Outcome, order: number, format: Format, count = 0): string | Buffer {
  // A count goes out with a win of more than one unit, 13 and 14 (always above 0 there).
  if (count > 0 && (count > 1 || code !== Outcome.Won)) return countedBody(code, order, count, format);
  if (order > 0) {
    return format === Format.Msgpack ? packr.pack({ c: code, o: order }) : `{"c":${code},"o":${order}}`;
  }
  return format === Format.Msgpack ? (MSGPACK_BODY[code] as Buffer) : (JSON_BODY[code] as string);
}

/**
 * Writes a whole answer. Call inside the handler or inside `x.later()`.
 * `close` (while shutting down) adds `Connection: close` and closes the
 * connection after the answer, so a keep-alive client opens a new
 * connection for its next request instead of sending it into a socket that
 * is about to go away.
 */
export function writeOutcome(x: Exchange, code: Outcome, order: number, format: Format, close = false, count = 0): void {
  x.head(STATUS[code] ?? 200).end(body(code, order, format, count), close);
}

/** An order's payment state: due with its deadline (ms), paid, or expired. */
export type PayState = { readonly p: 'due'; readonly d: number } | { readonly p: 'paid' | 'expired' };

/**
 * The order query's answer: code 0, the order number, whether MySQL has it
 * yet, and (events with a payment deadline only) its payment state.
 */
export function writeOrderState(x: Exchange, order: number, confirmed: boolean, format: Format, pay?: PayState): void {
  const s = confirmed ? 'confirmed' : 'pending';
  x.head(200);
  if (format === Format.Msgpack) return x.end(packr.pack({ c: Outcome.Won, o: order, s, ...pay }));
  const tail = pay === undefined ? '' : pay.p === 'due' ? `,"p":"due","d":${pay.d}` : `,"p":"${pay.p}"`;
  x.end(`{"c":0,"o":${order},"s":"${s}"${tail}}`);
}

/** One order in the order query's list (an event sold in lots). */
export interface ListedOrder {
  readonly o: number;
  readonly q: number;
  /** The SKU (events with SKUs only). */
  readonly sku?: string;
  readonly s: 'pending' | 'confirmed';
  readonly p?: PayState['p'];
  readonly d?: number;
}

/** The order query of an event sold in lots: `{"c":0,"orders":[{"o":7,"q":2,"sku":"red","s":"confirmed"},…]}`. */
export function writeOrderList(x: Exchange, orders: readonly ListedOrder[], format: Format): void {
  x.head(200).end(format === Format.Msgpack ? packr.pack({ c: Outcome.Won, orders }) : JSON.stringify({ c: Outcome.Won, orders }));
}

/**
 * The payment route's answer: 200 `{"c":0,"o":n,"p":"paid"}`, 409
 * `{"c":12,"o":n,"p":"expired"}`, or another code with its own status.
 */
export function writePayAnswer(x: Exchange, status: number, code: Outcome, order: number, format: Format): void {
  x.head(status);
  const p = code === Outcome.Won ? 'paid' : code === Outcome.Expired ? 'expired' : undefined;
  if (p === undefined) return x.end(body(code, 0, format));
  x.end(format === Format.Msgpack ? packr.pack({ c: code, o: order, p }) : `{"c":${code},"o":${order},"p":"${p}"}`);
}

/** Each Allow value as written, with HEAD next to GET. */
const ALLOW = new Map<string, string>();

/**
 * 405 for a known path with the wrong method: code 9 plus the Allow header
 * HTTP requires. A path with GET answers HEAD too (Routes.get), so its
 * Allow lists HEAD whether `allow` says so or not.
 */
export function writeMethodNotAllowed(x: Exchange, allow: string, format: Format): void {
  let methods = ALLOW.get(allow);
  if (methods === undefined) ALLOW.set(allow, (methods = /\bGET\b/.test(allow) && !/\bHEAD\b/.test(allow) ? allow.replace(/\bGET\b/, 'GET, HEAD') : allow));
  x.head(405).header('Allow', methods).end(body(Outcome.BadRequest, 0, format));
}

/** 413 for a body over the limit; the connection is closed so the rest is not read. */
export function writeTooLarge(x: Exchange, format: Format): void {
  x.head(413).end(body(Outcome.BadRequest, 0, format), true);
}

/** 426 for a plain GET of the WebSocket endpoint: code 9, and the Upgrade it needs (RFC 9110 §15.5.22). */
export function writeUpgradeRequired(x: Exchange, format: Format): void {
  x.head(426).header('Upgrade', 'websocket').end(body(Outcome.BadRequest, 0, format));
}

/** 404 for a path no route knows: code 9 (bad request). */
export function writeNoRoute(x: Exchange, format: Format): void {
  x.head(404).end(body(Outcome.BadRequest, 0, format));
}

/** Admin and health answers: JSON with its content type, not size-critical. */
export function writeJson(x: Exchange, status: number, value: unknown): void {
  x.head(status, 'application/json').end(JSON.stringify(value));
}

export function formatOf(accept: string): Format {
  return accept.length !== 0 && accept.includes(MSGPACK_TYPE) ? Format.Msgpack : Format.Json;
}
