import { Packr } from 'msgpackr';
import { OUTCOME_COUNT, Outcome } from '../outcome';

/**
 * The WebSocket protocol's frames: binary MessagePack arrays.
 * Client → server: `[id, "event"]` (buy as the connection's user),
 * `[id, "event", "<JWT>"]` (buy as the token's sub), `[0, "event"]`
 * (subscribe to the event's pushes); a buy may end with a map
 * `{"q": 2, "sku": "red"}` (an event sold in lots: the units and the SKU,
 * as the HTTP buy's `?q=2&sku=red`). Server → client: `[id, code]`,
 * `[id, code, order]` for codes 0 and 2, `[id, code, order, count]` when
 * an answer has a count (a win of q > 1, 13's k, 14's n; order 0 when
 * none), and the push `[0, "event", code]`.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** Longest event id or token a frame may carry (the frame itself is at most MAX_FRAME bytes). */
export const MAX_FRAME = 512;

/** A frame that asks something: a buy (id > 0) or a subscription (id 0). */
export interface Request {
  readonly id: number;
  readonly event: string;
  /** The buyer's own token (a gateway carrying many users); absent: the connection's user. */
  readonly token: string | undefined;
  /** Units asked for (1 when not given; 0 when malformed: answered 9). */
  readonly q: number;
  /** The SKU asked for ('' when not given). */
  readonly sku: string;
}

/** The most units one buy may ask for (any event's limit is at most this). */
const MAX_Q = 100;

/** q and sku of a buy's options map, or undefined when it is no such map. */
function readAsk(v: unknown): { q: number; sku: string } | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'q' && k !== 'sku') return undefined;
  const q = o.q ?? 1;
  const sku = o.sku ?? '';
  if (typeof sku !== 'string' || sku.length > 64) return undefined;
  return { q: typeof q === 'number' && Number.isInteger(q) && q >= 1 && q <= MAX_Q ? q : 0, sku };
}

/** A frame that could not be read: answer `[id, 9]` (id 0 when even the id was unreadable). */
export interface Unreadable {
  readonly id: number;
}

const MAX_ID = 0xffffffff;

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_ID;
}

/** Reads one client frame; anything but the shapes above is Unreadable. Never throws. */
export function readFrame(data: ArrayBuffer, isBinary: boolean): Request | Unreadable {
  if (!isBinary || data.byteLength === 0) return { id: 0 };
  let v: unknown;
  try {
    v = packr.unpack(new Uint8Array(data));
  } catch {
    return { id: 0 };
  }
  if (!Array.isArray(v)) return { id: 0 };
  const [id, event] = v as unknown[];
  if (!isId(id)) return { id: 0 };
  if (v.length < 2 || v.length > 4 || typeof event !== 'string' || event.length === 0) return { id };
  // The options map, when there, is the last element: [id, event, {…}] or [id, event, token, {…}].
  const last: unknown = v[v.length - 1];
  const hasAsk = v.length > 2 && typeof last === 'object' && last !== null;
  const ask = hasAsk ? readAsk(last) : undefined;
  if (hasAsk && (ask === undefined || id === 0)) return { id };
  const tokens = v.length - 2 - (hasAsk ? 1 : 0);
  if (tokens > 1) return { id };
  const token: unknown = tokens === 1 ? v[2] : undefined;
  if (tokens === 1 && (typeof token !== 'string' || id === 0)) return { id };
  return { id, event, token: token as string | undefined, q: ask?.q ?? 1, sku: ask?.sku ?? '' };
}

export function isRequest(f: Request | Unreadable): f is Request {
  return 'event' in f;
}

/** Answers without an order, for the ids most used, built once: `[id, code]`. */
const SMALL_IDS = 256;
const ANSWERS: Buffer[] = [];
for (let id = 0; id < SMALL_IDS; id++) for (let c = 0; c < OUTCOME_COUNT; c++) ANSWERS.push(packr.pack([id, c]));

/** `[id, code]`, `[id, code, order]` when there is an order (codes 0, 2, 12), `[id, code, order, count]` with a count. */
export function answerFrame(id: number, code: Outcome, order: number, count = 0): Buffer {
  if (count > 0 && (count > 1 || code !== Outcome.Won)) return packr.pack([id, code, order, count]);
  if (order > 0) return packr.pack([id, code, order]);
  if (id < SMALL_IDS) return ANSWERS[id * OUTCOME_COUNT + code] as Buffer;
  return packr.pack([id, code]);
}

/** The push `[0, "event", code]`: sold out (1) or ended (4). */
export function pushFrame(event: string, code: Outcome.SoldOut | Outcome.Ended): Buffer {
  return packr.pack([0, event, code]);
}

/** Client side (the example and the tests): a buy or subscribe frame; `ask` adds the options map. */
export function requestFrame(id: number, event: string, token?: string, ask?: { q?: number; sku?: string }): Buffer {
  const frame: unknown[] = token === undefined ? [id, event] : [id, event, token];
  if (ask !== undefined) frame.push(ask);
  return packr.pack(frame);
}
