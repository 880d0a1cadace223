import { ConfigError } from '../config';
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
}

interface Current {
  readonly stock: number;
  readonly start: string;
  readonly end: string;
  readonly name: string;
  readonly payWithin?: number;
  readonly limit?: number;
  readonly skus?: Record<string, number>;
}

/** `--skus red=500,blue=300`: each SKU's stock (the server checks ids and numbers). */
export function parseSkus(text: string): Record<string, number> {
  const skus: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([A-Za-z0-9_-]{1,32})\s*=\s*(\d+)\s*$/.exec(part);
    if (m === null) throw new ConfigError(`--skus: expected id=stock,id=stock (red=500,blue=300), got "${text}"`);
    skus[m[1] as string] = Number(m[2]);
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
  const limit = opts.limit !== undefined ? Number(opts.limit) : current?.limit;
  const body = {
    ...(stock === undefined ? {} : { stock }),
    start: start.value, end: end.value, name: opts.name ?? current?.name ?? '', payWithin: givenPayWithin ?? current?.payWithin ?? 0,
    ...(limit === undefined || limit === 1 ? {} : { limit }), ...(skus === undefined ? {} : { skus }),
  };
  const res = await api.call(`/admin/events/${encodeURIComponent(id)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { ok: res.ok, text: await res.text(), notes };
}
