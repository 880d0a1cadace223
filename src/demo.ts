import path from 'node:path';
import type { RunningApp } from './app';
import { mintToken } from './auth/jwt';
import { startAfresh } from './events/reset';
import type { SaleEvent } from './events/sale-event';
import { ResetEventResult } from './redis/scripts';

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
 * open is kept as it is across restarts; one that has ended (or was never
 * made) is started anew by events/reset.ts: all of its Redis keys in one
 * script, and its MySQL orders and definition under the row lock, so neither
 * a leftover key nor a restore from MySQL brings the old sale back. The only
 * place anything resets a sale, and only this one.
 */
export async function ensureDemoEvent(app: RunningApp): Promise<DemoSale> {
  const now = Date.now();
  const existing = await app.catalog.load(DEMO_EVENT);
  if (existing !== undefined && existing.end > now) return kept(app, existing);
  const def = { stock: DEMO_STOCK, start: now, end: now + HOUR, name: 'Demo sale' };
  const { result } = await startAfresh(app.redis, app.pool, DEMO_EVENT, def, now);
  if (result === ResetEventResult.Open) {
    // Open by MySQL's definition while Redis lacks it: restored, not reset.
    await app.catalog.restore(DEMO_EVENT);
    const restored = await app.catalog.load(DEMO_EVENT);
    if (restored !== undefined && restored.end > now) return kept(app, restored);
  }
  if (result !== ResetEventResult.Reset) throw new Error(`could not start the demo event anew (${ResetEventResult[result]})`);
  // Re-read: the catalog (and through it the workers and other instances) takes the new definition and count.
  const event = await app.catalog.load(DEMO_EVENT);
  if (event === undefined) throw new Error('the demo event is not in Redis after it was started anew');
  app.catalog.announce?.(event);
  return { stock: def.stock, remaining: def.stock, start: def.start, end: def.end, kept: false };
}

async function kept(app: RunningApp, event: SaleEvent): Promise<DemoSale> {
  const remaining = Number((await app.redis.get(event.keys.stock)) ?? event.remaining);
  return { stock: event.stock, remaining, start: event.start, end: event.end, kept: true };
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
    'Her order (code 11 until she has one):',
    `  curl -s -H 'authorization: Bearer ${token}' ${base}/events/${DEMO_EVENT}/order`,
    '',
    'Watch the sale (the dashboard in a browser, or the stats):',
    `  ${base}/admin/#token=${adminToken}`,
    `  curl -s -H 'authorization: Bearer ${adminToken}' ${base}/admin/events/${DEMO_EVENT}`,
    '',
    'Create another sale (the admin token is read from the data folder):',
    `  npx seckill event put spring --stock 1000 --start +10m --end +1h${port === 8080 ? '' : ` --url ${base}`}`,
    '',
  ].join('\n');
}

function relativeDir(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel === '' || rel.startsWith('..') ? dir : rel;
}
