import path from 'node:path';
import type { RunningApp } from './app';
import { mintToken } from './auth/jwt';
import { startAfresh } from './events/reset';
import type { SaleEvent } from './events/sale-event';
import { eventKeys } from './redis/keys';
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
  /** Two users who have not bought in it: the banner's buyer, and the one it suggests minting next. */
  readonly buyers: readonly [string, string];
}

const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];

/**
 * The first two of alice, bob, … then user11, user12, … who have not bought
 * in the demo sale: after a restart the banner's curl line still buys
 * (alice's would answer 2, already bought). One HMGET of the buyers hash.
 */
async function freshBuyers(app: RunningApp): Promise<[string, string]> {
  const candidates = [...NAMES, ...Array.from({ length: DEMO_STOCK + 2 }, (_, i) => `user${NAMES.length + i + 1}`)];
  const orders = await app.redis.hmget(eventKeys(DEMO_EVENT).buyers, ...candidates);
  const fresh = candidates.filter((_, i) => orders[i] === null);
  return [fresh[0] ?? 'alice', fresh[1] ?? 'bob'];
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
  return { stock: def.stock, remaining: def.stock, start: def.start, end: def.end, kept: false, buyers: ['alice', 'bob'] };
}

async function kept(app: RunningApp, event: SaleEvent): Promise<DemoSale> {
  const remaining = Number((await app.redis.get(event.keys.stock)) ?? event.remaining);
  return { stock: event.stock, remaining, start: event.start, end: event.end, kept: true, buyers: await freshBuyers(app) };
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

/**
 * What `npm start` prints once the demo sale is up: curl lines that buy and
 * ask for the order as a user who has not bought yet, the dashboard link
 * with the admin token in its fragment (never sent to a server, kept by the
 * browser across the redirect from `/`), the stats, and how to create
 * another sale. Without an admin token (SECKILL_JWT_SECRET given, no
 * SECKILL_ADMIN_TOKEN) it says how to get one instead of printing an empty
 * `Bearer `.
 */
export function demoBanner(host: string, port: number, jwtSecret: string, adminToken: string, sale: DemoSale, dataDir: string): string {
  const [user, next] = sale.buyers;
  const token = mintToken(jwtSecret, user, 24 * HOUR);
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const base = `http://${shown}:${port}`;
  const admin =
    adminToken === ''
      ? [
          `The dashboard (${base}/admin/), the stats and event put need an admin token: set SECKILL_ADMIN_TOKEN and start again.`,
        ]
      : [
          'Watch the sale (the dashboard in a browser, or the stats):',
          `  ${base}/admin/#token=${adminToken}`,
          `  curl -s -H 'authorization: Bearer ${adminToken}' ${base}/admin/events/${DEMO_EVENT}`,
          '',
          'Create another sale (the admin token is read from the data folder):',
          `  npx seckill event put spring --stock 1000 --start +10m --end +1h${port === 8080 ? '' : ` --url ${base}`}`,
        ];
  return [
    '',
    `seckill is serving the demo sale "${DEMO_EVENT}" (${describeDemo(sale)}) on ${base}`,
    ...(sale.kept ? [`To start the demo afresh: stop the server, delete its data folder (rm -rf ${relativeDir(dataDir)}), start again.`] : []),
    '',
    `Buy one unit as user "${user}" (token valid 24 h; mint others with: npx seckill token --user ${next}):`,
    `  curl -s -X POST -H 'authorization: Bearer ${token}' ${base}/events/${DEMO_EVENT}/buy`,
    `${user}'s order (code 11 until there is one):`,
    `  curl -s -H 'authorization: Bearer ${token}' ${base}/events/${DEMO_EVENT}/order`,
    '',
    ...admin,
    '',
  ].join('\n');
}

function relativeDir(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel === '' || rel.startsWith('..') ? dir : rel;
}
