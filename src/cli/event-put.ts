import { ConfigError } from '../config';
import { parseDuration, parseWhen } from './time';

export interface EventPutOptions {
  readonly stock?: string;
  readonly start?: string;
  readonly end?: string;
  readonly name?: string;
  /** Seconds (a bare number) or a duration (15m, 1h30m); 0: a win is final. */
  readonly 'pay-within'?: string;
}

interface Current {
  readonly stock: number;
  readonly start: string;
  readonly end: string;
  readonly name: string;
  readonly payWithin?: number;
}

/** `--pay-within`: whole seconds, given as a bare number of seconds or a duration. */
export function parsePayWithin(text: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const ms = parseDuration(t, '--pay-within');
  if (ms % 1000 !== 0) throw new ConfigError(`--pay-within: whole seconds only, got "${text}"`);
  return ms / 1000;
}

async function call(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ConfigError(
      `no seckill server answers at ${new URL(url).origin} (${cause?.code ?? cause?.message ?? (err as Error).message}): start one, or pass --url`,
    );
  }
}

/**
 * `seckill event put`: reads the event through GET /admin/events/{e}, lays
 * the options given over it (so a change keeps what it does not name), and
 * PUTs the result. Prints the server's answer; resolves false when refused.
 */
export async function eventPut(base: string, id: string, adminToken: string, opts: EventPutOptions, now = Date.now()): Promise<{ ok: boolean; text: string }> {
  const url = `${base}/admin/events/${encodeURIComponent(id)}`;
  const authorization = `Bearer ${adminToken}`;
  const got = await call(url, { headers: { authorization } });
  if (got.status === 401) throw new ConfigError(`the server at ${base} refused the admin token (SECKILL_ADMIN_TOKEN)`);
  let current: Current | undefined;
  if (got.status === 200) current = (await got.json()) as Current;
  else if (got.status !== 404) return { ok: false, text: await got.text() };
  else await got.arrayBuffer();

  let stock = current?.stock;
  if (opts.stock !== undefined) {
    if (!/^\d+$/.test(opts.stock.trim())) throw new ConfigError(`--stock: expected a whole number, got "${opts.stock}"`);
    stock = Number(opts.stock);
  }
  const start = opts.start !== undefined ? parseWhen(opts.start, '--start', now) : current?.start ?? now;
  const end = opts.end !== undefined ? parseWhen(opts.end, '--end', now) : current?.end;
  if (stock === undefined || end === undefined) {
    const missing = [stock === undefined ? '--stock' : '', end === undefined ? '--end' : ''].filter(Boolean).join(' and ');
    throw new ConfigError(`event put: "${id}" does not exist yet; a new event needs ${missing}`);
  }
  const payWithin = opts['pay-within'] !== undefined ? parsePayWithin(opts['pay-within']) : current?.payWithin ?? 0;
  const body = { stock, start, end, name: opts.name ?? current?.name ?? '', payWithin };
  const res = await call(url, {
    method: 'PUT',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { ok: res.ok, text: await res.text() };
}
