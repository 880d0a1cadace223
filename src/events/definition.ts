import { POW_ALGORITHMS, type EventDefinition, type PowAlgorithm, type PowDifficulty } from '../sale';

export const MAX_STOCK = 10_000_000;
export const MAX_NAME = 200;
/** The longest payment deadline: 7 days, in seconds. */
export const MAX_PAY_WITHIN = 7 * 24 * 3600;
/** The most rounds one try of a proof of work may cost: the server derives one key at this cost per challenge it hands out. */
export const MAX_POW_COST = 100_000;
/** The largest secret counter (the expected tries are about half the range's sum). */
export const MAX_POW_COUNTER = 10_000_000;
/** ALTCHA's own example (altcha-lib's README): PBKDF2/SHA-256, the counter drawn from 5,000 to 10,000. */
export const DEFAULT_POW_ALGORITHM: PowAlgorithm = 'PBKDF2/SHA-256';
export const DEFAULT_POW_COUNTER: readonly [number, number] = Object.freeze([5_000, 10_000] as const);
/** The longest draw window at the opening, in ms. */
export const MAX_DRAW_MS = 10_000;
/** The most units one user may hold in an event. */
export const MAX_LIMIT = 100;
/** The most SKUs an event may have. */
export const MAX_SKUS = 100;
/** A SKU id; `__proto__` is none (it would name an object's prototype, not a key, and vanish from the definition). */
export const SKU_ID = /^(?!__proto__$)[A-Za-z0-9_-]{1,32}$/;
/** A start this far in the past (or more) is taken for a mistake, unless it is `now` or the event's own start. */
export const PAST_START_MS = 60_000;

/** Epoch milliseconds below this are 1970 (2001-09-09): seconds were meant. */
const MIN_EPOCH_MS = 1e12;
/** And from this on (year 33658), microseconds were. */
const MAX_EPOCH_MS = 1e15;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const NO_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|z|[+-](\d{2}):?(\d{2}))$/;
const ZONE_HINT = 'add Z (UTC) or an offset such as +08:00';

/** A real calendar instant: Date.parse takes 2026-02-30 for 2026-03-02 and 24:00 for the next day. */
function realInstant(m: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second = '0', offH = '0', offM = '0'] = m.slice(1);
  const days = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
  return (
    Number(month) >= 1 && Number(month) <= 12 && Number(day) >= 1 && Number(day) <= days &&
    Number(hour) <= 23 && Number(minute) <= 59 && Number(second) <= 59 && Number(offH) <= 14 && Number(offM) <= 59
  );
}

/**
 * One instant of an event's window, as the admin API and the CLI take it:
 * epoch milliseconds (a number, or its digits), or ISO-8601 with a date, a
 * time and an offset. Returns epoch ms, or what is wrong with it, named by
 * `field`. What would be read some other way than meant is refused rather
 * than guessed: a date alone (midnight, in which zone?), a time without an
 * offset (the parser's zone), an epoch in seconds (1970) or microseconds.
 */
export function parseTime(value: unknown, field: string): number | string {
  const shape = `${field} must be an ISO-8601 time with its offset (2026-12-04T10:00:00Z, 2026-12-04T10:00:00+08:00) or epoch milliseconds`;
  if (typeof value === 'string' && /^\d+$/.test(value)) return parseTime(Number(value), field);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) return shape;
    if (value < MIN_EPOCH_MS) return `${field} ${value} is below 10^12: seconds? give milliseconds (${value}000)`;
    if (value >= MAX_EPOCH_MS) return `${field} ${value} is 10^15 or more: microseconds? give milliseconds`;
    return value;
  }
  if (typeof value !== 'string') return shape;
  if (DATE_ONLY.test(value)) return `${field} "${value}" is a date without a time: give the time and its offset (${value}T10:00:00Z, ${value}T10:00:00+08:00)`;
  if (NO_OFFSET.test(value)) return `${field} "${value}" has no offset, so its zone is a guess: ${ZONE_HINT} (${value}Z, ${value}+08:00)`;
  const m = ISO.exec(value);
  if (m === null) return shape;
  if (!realInstant(m)) return `${field} "${value}" is not a real date and time`;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return shape;
  return ms;
}

/**
 * A start more than a minute before `now` would open the sale at once, which
 * a typo (a wrong day, zone or year) does too: refused, unless it is the
 * event's current start (`currentStart`: the same definition put again, or
 * a change of its other fields). `now` is accepted as it is (the CLI's
 * `--start now`, the API's "now").
 */
export function pastStart(start: number, now: number, currentStart?: number): string | undefined {
  if (start >= now - PAST_START_MS || start === currentStart) return undefined;
  const ago = Math.round((now - start) / 60_000);
  return `start ${new Date(start).toISOString()} is ${ago >= 120 ? `${Math.round(ago / 60)} hours` : `${ago} minutes`} in the past: to open the sale at once give now, else a time to come`;
}

/**
 * Validates an event definition (the admin PUT body). `now` is the server's
 * clock: the API's `"start": "now"` becomes it. Returns the definition, or
 * a message saying what is wrong. (The past-start rule needs the event's
 * current start: pastStart, applied by the caller.)
 */
export function parseDefinition(input: unknown, now: number): EventDefinition | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'body must be a JSON object';
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['stock', 'start', 'end', 'name', 'payWithin', 'drawMs', 'pow', 'limit', 'skus'].includes(k)) return `unknown field "${k}"`;
  }
  const skus = parseSkus(o.skus);
  if (typeof skus === 'string') return skus;
  const sum = skus === undefined ? undefined : Object.values(skus).reduce((a, b) => a + b, 0);
  if (sum !== undefined && o.stock !== undefined && o.stock !== sum) return `stock must equal the sum of the SKUs' stocks (${sum}), or be left out`;
  const stock = o.stock ?? sum;
  if (typeof stock !== 'number' || !Number.isInteger(stock) || stock < 1 || stock > MAX_STOCK) {
    return `stock must be a whole number from 1 to ${MAX_STOCK}`;
  }
  const start = o.start === 'now' ? now : parseTime(o.start, 'start');
  if (typeof start === 'string') return o.start === undefined ? 'start is required (a time, or "now")' : start;
  const end = parseTime(o.end, 'end');
  if (typeof end === 'string') return o.end === undefined ? 'end is required' : end;
  if (end <= start) return 'end must be after start';
  const name = o.name ?? '';
  if (typeof name !== 'string' || name.length > MAX_NAME) return `name must be text of at most ${MAX_NAME} characters`;
  const payWithin = o.payWithin ?? 0;
  if (typeof payWithin !== 'number' || !Number.isInteger(payWithin) || payWithin < 0 || payWithin > MAX_PAY_WITHIN) {
    return `payWithin must be a whole number of seconds from 0 to ${MAX_PAY_WITHIN} (0: a win is final)`;
  }
  const drawMs = o.drawMs ?? 0;
  if (typeof drawMs !== 'number' || !Number.isInteger(drawMs) || drawMs < 0 || drawMs > MAX_DRAW_MS) {
    return `drawMs must be a whole number of milliseconds from 0 to ${MAX_DRAW_MS} (0: no draw)`;
  }
  if (drawMs > 0 && start + drawMs >= end) return 'drawMs must end before the sale does (start + drawMs < end)';
  const limit = o.limit ?? 1;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    return `limit must be a whole number from 1 to ${MAX_LIMIT} (the units one user may hold)`;
  }
  if (drawMs > 0 && skus !== undefined) {
    return 'drawMs and skus cannot be combined: a draw at the opening shares one stock, not a stock per SKU (docs/ARCHITECTURE.md, The draw at the opening)';
  }
  // Limit 1 and no SKUs is the plain event: neither field is kept, so it reads back exactly as before.
  const def = { stock, start, end, name, payWithin, drawMs, ...(limit > 1 ? { limit } : {}), ...(skus === undefined ? {} : { skus }) };
  if (o.pow === undefined || o.pow === null) return def;
  const pow = parsePow(o.pow);
  if (typeof pow === 'string') return pow;
  return { ...def, pow };
}

/** `{"red": 500, "blue": 300}`: each id's stock; undefined when absent; else what is wrong. */
function parseSkus(input: unknown): Record<string, number> | undefined | string {
  if (input === undefined) return undefined;
  const shape = `skus must be an object of 1 to ${MAX_SKUS} SKU ids ([A-Za-z0-9_-], up to 32 characters) and their stocks ({"red":500,"blue":300})`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return shape;
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length < 1 || entries.length > MAX_SKUS) return shape;
  const skus: Record<string, number> = {};
  for (const [id, n] of entries) {
    if (!SKU_ID.test(id)) return `SKU id "${id.slice(0, 40)}" must match [A-Za-z0-9_-]{1,32} (and not be __proto__)`;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_STOCK) return `SKU ${id}: stock must be a whole number from 1 to ${MAX_STOCK}`;
    skus[id] = n;
  }
  return skus;
}

const isWhole = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/**
 * An event's proof of work: `{"cost": n}`, with `"algorithm"` (default
 * PBKDF2/SHA-256) and `"counter": [min, max]` (default [5000, 10000]) when
 * given. Also reads the stored text back (sale.ts powText), so Redis and
 * MySQL are held to the same rules. Returns it whole, or what is wrong.
 */
export function parsePow(value: unknown): PowDifficulty | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'pow must be an object: {"cost": n} with optional "algorithm" and "counter": [min, max] (ALTCHA PoW v2), or null for none';
  }
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['algorithm', 'cost', 'counter'].includes(k)) return `unknown field "pow.${k}" (pow takes algorithm, cost and counter)`;
  }
  const algorithm = o.algorithm ?? DEFAULT_POW_ALGORITHM;
  if (typeof algorithm !== 'string' || !(POW_ALGORITHMS as readonly string[]).includes(algorithm)) {
    return `pow.algorithm must be one of ${POW_ALGORITHMS.join(', ')}`;
  }
  if (!isWhole(o.cost, 1, MAX_POW_COST)) return `pow.cost must be a whole number from 1 to ${MAX_POW_COST} (rounds of ${algorithm} per try)`;
  const counter = o.counter ?? DEFAULT_POW_COUNTER;
  if (!Array.isArray(counter) || counter.length !== 2 || !isWhole(counter[0], 0, MAX_POW_COUNTER) || !isWhole(counter[1], 0, MAX_POW_COUNTER)) {
    return `pow.counter must be [min, max], whole numbers from 0 to ${MAX_POW_COUNTER}`;
  }
  if (counter[0] > counter[1]) return 'pow.counter must be [min, max] with min <= max';
  return { algorithm: algorithm as PowAlgorithm, cost: o.cost, counter: [counter[0], counter[1]] };
}

/** The stored text of a proof of work back as one ('' or unreadable: none; the put that wrote it checked it). */
export function readPow(text: string | null | undefined): PowDifficulty | undefined {
  if (text === null || text === undefined || text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const pow = parsePow(value);
  return typeof pow === 'string' ? undefined : pow;
}
