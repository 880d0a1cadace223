import { Packr } from 'msgpackr';
import { OUTCOME_COUNT, Outcome } from '../outcome';

/**
 * The WebSocket protocol's frames: binary MessagePack arrays.
 * Client → server: `[id, "event"]` (buy as the connection's user),
 * `[id, "event", "<JWT>"]` (buy as the token's sub), `[id, "event",
 * "<JWT>" | nil, "<ALTCHA payload>"]` (either, with the solved challenge of
 * an event with proof of work: the base64 text an ALTCHA widget produces,
 * as HTTP's `x-altcha`), `[0, "event"]` (subscribe to the event's pushes);
 * a buy may end with a map `{"q": 2, "sku": "red"}` (an event sold in
 * lots: the units and the SKU, as the HTTP buy's `?q=2&sku=red`), after
 * the token and the solution if any. Server → client: `[id, code]`,
 * `[id, code, order]` for codes 0 and 2, `[id, code, order, count]` when
 * an answer has a count (a win of q > 1, 13's k, 14's n; order 0 when
 * none), and the push `[0, "event", code]`.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** Longest event id or token a frame may carry (the frame itself is at most MAX_FRAME bytes). */
export const MAX_FRAME = 512;
/**
 * A buy frame with a solved challenge (four elements, MessagePack fixarray 0x94, or five with the lots map
 * after it, 0x95) may be this long.
 */
export const MAX_POW_FRAME = 4096;
const FIXARRAY_4 = 0x94;
const FIXARRAY_5 = 0x95;

/** Whether a frame of `data` is within its size: MAX_FRAME, or MAX_POW_FRAME for a four- or five-element one. */
export function frameFits(data: ArrayBuffer): boolean {
  const n = data.byteLength;
  if (n <= MAX_FRAME) return true;
  const head = new Uint8Array(data, 0, 1)[0];
  return n <= MAX_POW_FRAME && (head === FIXARRAY_4 || head === FIXARRAY_5);
}

/** A frame that asks something: a buy (id > 0) or a subscription (id 0). */
export interface Request {
  readonly id: number;
  readonly event: string;
  /** The buyer's own token (a gateway carrying many users); absent: the connection's user. */
  readonly token: string | undefined;
  /** The solved ALTCHA challenge (events with proof of work); absent: none. */
  readonly solution?: string;
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
  if (v.length < 2 || v.length > 5 || typeof event !== 'string' || event.length === 0) return { id };
  // The options map, when there, is the last element: [id, event(, token(, solution)), {…}].
  const last: unknown = v[v.length - 1];
  const hasAsk = v.length > 2 && typeof last === 'object' && last !== null;
  const ask = hasAsk ? readAsk(last) : undefined;
  if (hasAsk && (ask === undefined || id === 0)) return { id };
  const rest = v.length - 2 - (hasAsk ? 1 : 0);
  const token: unknown = rest >= 1 ? v[2] : undefined;
  const solution: unknown = rest === 2 ? v[3] : undefined;
  const q = ask?.q ?? 1;
  const sku = ask?.sku ?? '';
  if (rest > 2) return { id };
  if (rest === 1 && (typeof token !== 'string' || id === 0)) return { id };
  if (rest === 2) {
    if ((typeof token !== 'string' && token !== null) || typeof solution !== 'string' || id === 0) return { id };
    return { id, event, token: token ?? undefined, solution, q, sku };
  }
  return { id, event, token: token as string | undefined, q, sku };
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

/**
 * Client side (the example and the tests): a buy or subscribe frame; `solution` (a string) adds a solved
 * challenge, `ask` (or a map in `solution`'s place) the options map.
 */
export function requestFrame(
  id: number,
  event: string,
  token?: string,
  solution?: string | { q?: number; sku?: string },
  ask?: { q?: number; sku?: string },
): Buffer {
  const options = typeof solution === 'object' ? solution : ask;
  const proof = typeof solution === 'string' ? solution : undefined;
  const frame: unknown[] = proof !== undefined ? [id, event, token ?? null, proof] : token === undefined ? [id, event] : [id, event, token];
  if (options !== undefined) frame.push(options);
  return packr.pack(frame);
}
