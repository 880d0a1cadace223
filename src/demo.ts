import path from 'node:path';
import type { RunningApp } from './app';
import { mintToken } from './auth/jwt';
import { PutEventResult } from './redis/scripts';

export const DEMO_EVENT = 'demo';
export const DEMO_STOCK = 100;
const HOUR = 3_600_000;

/** The demo sale as it stands after start-up: what the banner tells. */
export interface DemoSale {
  readonly stock: number;
  readonly remaining: number;
  readonly start: number;
  readonly end: number;
  /** Kept from an earlier run (still open), rather than created now. */
  readonly kept: boolean;
}

/**
 * The `npm start` sale: `demo`, 100 units, open now for an hour. A demo still
 * open is kept as it is across restarts; one that has ended is started anew
 * (the only place anything resets a sale, and only this one).
 */
export async function ensureDemoEvent(app: RunningApp): Promise<DemoSale> {
  const now = Date.now();
  const existing = await app.catalog.load(DEMO_EVENT);
  if (existing !== undefined && existing.end > now) {
    const remaining = Number((await app.redis.get(existing.keys.stock)) ?? existing.remaining);
    return { stock: existing.stock, remaining, start: existing.start, end: existing.end, kept: true };
  }
  if (existing !== undefined) {
    const k = existing.keys;
    await app.redis.del(k.meta, k.stock, k.buyers, k.orders);
    await app.pool?.query('DELETE FROM orders WHERE event_id = ?', [DEMO_EVENT]);
    existing.forgetWinners();
  }
  const def = { stock: DEMO_STOCK, start: now, end: now + HOUR, name: 'Demo sale' };
  const { result } = await app.catalog.put(DEMO_EVENT, def);
  if (result === PutEventResult.Started) throw new Error('could not create the demo event');
  return { stock: def.stock, remaining: def.stock, start: def.start, end: def.end, kept: false };
}

function minutes(ms: number): string {
  const m = Math.max(0, Math.round(ms / 60_000));
  return m === 1 ? '1 minute' : `${m} minutes`;
}

/** What the demo sale is now, in one line: units left of the stock, and until when it is open. */
export function describeDemo(sale: DemoSale, now = Date.now()): string {
  const left = sale.remaining === sale.stock ? `${sale.stock} units` : `${sale.remaining} of ${sale.stock} units left`;
  const until = `open until ${new Date(sale.end).toISOString().slice(11, 16)} UTC, ${minutes(sale.end - now)} from now`;
  return `${left}, ${until}${sale.kept ? ', kept from the previous run' : ''}`;
}

export function demoBanner(host: string, port: number, jwtSecret: string, adminToken: string, sale: DemoSale, dataDir: string): string {
  const token = mintToken(jwtSecret, 'alice', 24 * HOUR);
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const base = `http://${shown}:${port}`;
  return [
    '',
    `seckill is serving the demo sale "${DEMO_EVENT}" (${describeDemo(sale)}) on ${base}`,
    ...(sale.kept ? [`To start the demo afresh: stop the server, delete its data folder (rm -rf ${relativeDir(dataDir)}), start again.`] : []),
    '',
    'Buy one unit as user "alice" (token valid 24 h; mint others with: npx seckill token --user bob):',
    `  curl -s -X POST -H 'authorization: Bearer ${token}' ${base}/events/${DEMO_EVENT}/buy`,
    '',
    'Watch the sale:',
    `  curl -s -H 'authorization: Bearer ${adminToken}' ${base}/admin/events/${DEMO_EVENT}`,
    '',
  ].join('\n');
}

function relativeDir(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel === '' || rel.startsWith('..') ? dir : rel;
}
