import type { RunningApp } from './app';
import { mintToken } from './auth/jwt';
import { PutEventResult } from './redis/scripts';

export const DEMO_EVENT = 'demo';
const HOUR = 3_600_000;

/**
 * The `npm start` sale: `demo`, 100 units, open now for an hour. A demo still
 * open is kept as it is across restarts; one that has ended is started anew
 * (the only place anything resets a sale, and only this one).
 */
export async function ensureDemoEvent(app: RunningApp): Promise<void> {
  const now = Date.now();
  const existing = await app.catalog.load(DEMO_EVENT);
  if (existing !== undefined && existing.end > now) return;
  if (existing !== undefined) {
    const k = existing.keys;
    await app.redis.del(k.meta, k.stock, k.buyers, k.orders);
    await app.pool?.query('DELETE FROM orders WHERE event_id = ?', [DEMO_EVENT]);
    existing.winners.clear();
  }
  const { result } = await app.catalog.put(DEMO_EVENT, { stock: 100, start: now, end: now + HOUR, name: 'Demo sale' });
  if (result === PutEventResult.Started) throw new Error('could not create the demo event');
}

export function demoBanner(port: number, jwtSecret: string, adminToken: string): string {
  const token = mintToken(jwtSecret, 'alice', 24 * HOUR);
  const base = `http://127.0.0.1:${port}`;
  return [
    '',
    `seckill is serving the demo sale "${DEMO_EVENT}" (100 units, open for an hour) on ${base}`,
    '',
    'Buy one unit as user "alice" (token valid 24 h; mint others with: npx seckill token --user bob):',
    `  curl -s -X POST -H 'authorization: Bearer ${token}' ${base}/events/${DEMO_EVENT}/buy`,
    '',
    'Watch the sale:',
    `  curl -s -H 'authorization: Bearer ${adminToken}' ${base}/admin/events/${DEMO_EVENT}`,
    '',
  ].join('\n');
}
