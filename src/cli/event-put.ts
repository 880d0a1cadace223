import { ConfigError } from '../config';
import { parsePow } from '../events/definition';
import type { PowDifficulty } from '../sale';
import type { AdminApi } from './admin-api';
import { parseDuration, parseWhen, type When } from './time';

export interface EventPutOptions {
  readonly stock?: string;
  readonly start?: string;
  readonly end?: string;
  readonly name?: string;
  /** A duration (900s, 15m, 1h); 0: a win is final. */
  readonly 'pay-within'?: string;
  /** Units one user may hold (1-100). */
  readonly limit?: string;
  /** `red=500,blue=300`: each SKU's stock. */
  readonly skus?: string;
  /** `off`, a cost (`5000`), or `cost=5000,counter=5000-10000,algorithm=PBKDF2/SHA-256`. */
  readonly pow?: string;
  /** The draw window at the opening, a duration (500ms, 5s) of at most 10 s; 0: none. */
  readonly draw?: string;
}

interface Current {
  readonly stock: number;
  readonly start: string;
  readonly end: string;
  readonly name: string;
  readonly payWithin?: number;
  readonly pow?: PowDifficulty;
  readonly drawMs?: number;
  readonly limit?: number;
  readonly skus?: Record<string, number>;
}

/** `--skus red=500,blue=300`: each SKU's stock (the server checks ids and numbers). */
export function parseSkus(text: string): Record<string, number> {
  const skus: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([A-Za-z0-9_-]{1,32})\s*=\s*(\d+)\s*$/.exec(part);
    if (m === null) throw new ConfigError(`--skus: expected id=stock,id=stock (red=500,blue=300), got "${text}"`);
    const id = m[1] as string;
    // Neither may vanish: a second stock of an id would replace the first, and __proto__ names no key of an object.
    if (id === '__proto__' || Object.hasOwn(skus, id)) throw new ConfigError(`--skus: "${id}" cannot be a SKU id here (given twice, or __proto__)`);
    skus[id] = Number(m[2]);
  }
  return skus;
}

/** `--pay-within`: a duration with its unit (900s, 15m), in whole seconds; 0: a win is final. */
export function parsePayWithin(text: string): number {
  const ms = parseDuration(text, '--pay-within');
  if (ms % 1000 !== 0) throw new ConfigError(`--pay-within: whole seconds only, got "${text}"`);
  return ms / 1000;
}

/**
 * `--pow`: `off` (none), a cost alone (`5000`), or `key=value` pairs, comma
 * separated: `cost=5000,counter=5000-10000,algorithm=PBKDF2/SHA-256`. Checked
 * here by the server's own rules, so a mistake is named before any request.
 */
export function parsePowFlag(text: string): PowDifficulty | null {
  const t = text.trim();
  if (t === 'off') return null;
  const o: Record<string, unknown> = {};
  for (const part of /^\d+$/.test(t) ? [`cost=${t}`] : t.split(',')) {
    const m = /^\s*(\w+)\s*=\s*(\S+?)\s*$/.exec(part);
    if (m === null) throw new ConfigError(`--pow: expected off, a cost (5000), or cost=N[,counter=MIN-MAX][,algorithm=A]; got "${text}"`);
    const [, key = '', value = ''] = m;
    const range = /^(\d+)-(\d+)$/.exec(value);
    o[key] = key === 'algorithm' ? value : key === 'counter' ? (range === null ? value : [Number(range[1]), Number(range[2])]) : /^\d+$/.test(value) ? Number(value) : value;
  }
  const pow = parsePow(o);
  if (typeof pow === 'string') throw new ConfigError(`--pow: ${pow.replace(/\bpow\./g, '')}`);
  return pow;
}

/**
 * What one window flag sends. Relative times (`+10m`) place a new event's
 * window; on an event that exists they keep its time, so running the same
 * command again (a provisioning script, a container start) does not move a
 * window it already placed. `--start now` on an event already open keeps its
 * start too (it is open). Absolute times always apply. `kept` says a flag
 * was overridden this way.
 */
function windowValue(when: When, current: string | undefined, open: boolean, isStart: boolean): { value: number | string; kept: boolean } {
  if (current !== undefined && (when.kind === 'relative' || (isStart && when.kind === 'now' && open))) return { value: current, kept: true };
  // "now" is the server's clock: a CLI host whose clock is behind is not taken for a start in the past.
  return { value: when.kind === 'now' && isStart ? 'now' : when.ms, kept: false };
}

/**
 * `seckill event put`: reads the event through GET /admin/events/{e}, lays
 * the options given over it (so a change keeps what it does not name), and
 * PUTs the result. Prints the server's answer; resolves false when refused.
 * `notes` are for stderr: a window kept rather than moved, and why.
 */
export async function eventPut(api: AdminApi, id: string, opts: EventPutOptions, now = Date.now()): Promise<{ ok: boolean; text: string; notes: string[] }> {
  // Every option is read before the server is asked: a mistake is named whatever the server's state.
  if (opts.stock !== undefined && !/^\d+$/.test(opts.stock.trim())) throw new ConfigError(`--stock: expected a whole number, got "${opts.stock}"`);
  const startWhen = opts.start === undefined ? undefined : parseWhen(opts.start, '--start', now);
  const endWhen = opts.end === undefined ? undefined : parseWhen(opts.end, '--end', now);
  const givenPayWithin = opts['pay-within'] === undefined ? undefined : parsePayWithin(opts['pay-within']);
  const givenPow = opts.pow === undefined ? undefined : parsePowFlag(opts.pow);
  const givenDraw = opts.draw === undefined ? undefined : parseDuration(opts.draw, '--draw');
  if (opts.limit !== undefined && !/^\d+$/.test(opts.limit.trim())) throw new ConfigError(`--limit: expected a whole number, got "${opts.limit}"`);
  const givenSkus = opts.skus === undefined ? undefined : parseSkus(opts.skus);

  const current = (await api.event(id)) as Current | undefined;
  const skus = givenSkus ?? current?.skus;
  // SKUs given and no --stock: the stock is their sum (the server works it out).
  const stock = opts.stock !== undefined ? Number(opts.stock) : givenSkus !== undefined ? undefined : current?.stock;
  const open = current !== undefined && Date.parse(current.start) <= now && now < Date.parse(current.end);
  const start = startWhen === undefined ? { value: current?.start ?? 'now', kept: false } : windowValue(startWhen, current?.start, open, true);
  const end = endWhen === undefined ? { value: current?.end, kept: false } : windowValue(endWhen, current?.end, open, false);
  const notes: string[] = [];
  if (start.kept || end.kept) {
    const flags = [start.kept ? `--start ${opts.start ?? ''}` : '', end.kept ? `--end ${opts.end ?? ''}` : ''].filter(Boolean).join(' and ');
    notes.push(
      `event put: "${id}" exists, so ${flags} kept its window (${current?.start} to ${current?.end}): ` +
        'relative times place a new event only; to move it, give ISO-8601 times (or --start now)',
    );
  }
  if ((stock === undefined && skus === undefined) || end.value === undefined) {
    const missing = [stock === undefined ? '--stock (or --skus)' : '', end.value === undefined ? '--end' : ''].filter(Boolean).join(' and ');
    throw new ConfigError(`event put: "${id}" does not exist yet; a new event needs ${missing}`);
  }
  const pow = givenPow === undefined ? current?.pow : (givenPow ?? undefined);
  const limit = opts.limit !== undefined ? Number(opts.limit) : current?.limit;
  const body = {
    ...(stock === undefined ? {} : { stock }),
    start: start.value,
    end: end.value,
    name: opts.name ?? current?.name ?? '',
    payWithin: givenPayWithin ?? current?.payWithin ?? 0,
    drawMs: givenDraw ?? current?.drawMs ?? 0,
    ...(pow === undefined ? {} : { pow }),
    ...(limit === undefined || limit === 1 ? {} : { limit }),
    ...(skus === undefined ? {} : { skus }),
  };
  const res = await api.call(`/admin/events/${encodeURIComponent(id)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { ok: res.ok, text: await res.text(), notes };
}
