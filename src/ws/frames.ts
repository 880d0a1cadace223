import { Packr } from 'msgpackr';
import { OUTCOME_COUNT, Outcome } from '../outcome';

/**
 * The WebSocket protocol's frames: binary MessagePack arrays.
 * Client → server: `[id, "event"]` (buy as the connection's user),
 * `[id, "event", "<JWT>"]` (buy as the token's sub), `[id, "event",
 * "<JWT>" | nil, "<ALTCHA payload>"]` (either, with the solved challenge of
 * an event with proof of work: the base64 text an ALTCHA widget produces,
 * as HTTP's `x-altcha`), `[0, "event"]` (subscribe to the event's pushes). Server → client: `[id, code]`,
 * `[id, code, order]` for codes 0 and 2, and the push `[0, "event", code]`.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** Longest event id or token a frame may carry (the frame itself is at most MAX_FRAME bytes). */
export const MAX_FRAME = 512;
/** A buy frame with a solved challenge (four elements: MessagePack fixarray 0x94) may be this long. */
export const MAX_POW_FRAME = 4096;
const FIXARRAY_4 = 0x94;

/** Whether a frame of `data` is within its size: MAX_FRAME, or MAX_POW_FRAME for a four-element one. */
export function frameFits(data: ArrayBuffer): boolean {
  const n = data.byteLength;
  if (n <= MAX_FRAME) return true;
  return n <= MAX_POW_FRAME && new Uint8Array(data, 0, 1)[0] === FIXARRAY_4;
}

/** A frame that asks something: a buy (id > 0) or a subscription (id 0). */
export interface Request {
  readonly id: number;
  readonly event: string;
  /** The buyer's own token (a gateway carrying many users); absent: the connection's user. */
  readonly token: string | undefined;
  /** The solved ALTCHA challenge (events with proof of work); absent: none. */
  readonly solution?: string;
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
  const [id, event, token, solution] = v as unknown[];
  if (!isId(id)) return { id: 0 };
  if (v.length < 2 || v.length > 4 || typeof event !== 'string' || event.length === 0) return { id };
  if (v.length === 3 && (typeof token !== 'string' || id === 0)) return { id };
  if (v.length === 4) {
    if ((typeof token !== 'string' && token !== null) || typeof solution !== 'string' || id === 0) return { id };
    return { id, event, token: token ?? undefined, solution };
  }
  return { id, event, token: token as string | undefined };
}

export function isRequest(f: Request | Unreadable): f is Request {
  return 'event' in f;
}

/** Answers without an order, for the ids most used, built once: `[id, code]`. */
const SMALL_IDS = 256;
const ANSWERS: Buffer[] = [];
for (let id = 0; id < SMALL_IDS; id++) for (let c = 0; c < OUTCOME_COUNT; c++) ANSWERS.push(packr.pack([id, c]));

/** `[id, code]`, or `[id, code, order]` when there is an order (codes 0, 2, 12). */
export function answerFrame(id: number, code: Outcome, order: number): Buffer {
  if (order > 0) return packr.pack([id, code, order]);
  if (id < SMALL_IDS) return ANSWERS[id * OUTCOME_COUNT + code] as Buffer;
  return packr.pack([id, code]);
}

/** The push `[0, "event", code]`: sold out (1) or ended (4). */
export function pushFrame(event: string, code: Outcome.SoldOut | Outcome.Ended): Buffer {
  return packr.pack([0, event, code]);
}

/** Client side (the example and the tests): a buy or subscribe frame; with `solution`, the buy carries a solved challenge. */
export function requestFrame(id: number, event: string, token?: string, solution?: string): Buffer {
  if (solution !== undefined) return packr.pack([id, event, token ?? null, solution]);
  return packr.pack(token === undefined ? [id, event] : [id, event, token]);
}
