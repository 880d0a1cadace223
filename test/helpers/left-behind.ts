import type { Test } from 'tap';
import type { SaleEvent } from '../../src/events/sale-event';
import type { TestApp } from './app';
import { until } from './wait';

/**
 * After parked clients left: nothing parked, waiting, following, reserved or
 * queued, and at most `maxBuyers` units spent (what the bucket let through
 * before they left). Returns the buyers Redis has.
 */
export async function nothingLeftBehind(t: Test, app: TestApp, event: SaleEvent, maxBuyers: number, why: string): Promise<number> {
  await until(() => app.queue.live === 0, 'every parked request let go', 30_000);
  await app.consumer.idle();
  t.equal(app.queue.size, 0, 'queue drained');
  t.equal(app.queue.followers, 0, 'followers released');
  t.equal(event.reserved, 0, 'every reservation given back');
  t.equal(event.queued.size, 0, 'no user left queued');
  const buyers = await app.redis.hlen(event.keys.buyers);
  t.ok(buyers <= maxBuyers, `no unit spent on clients that left (${buyers} buyers; ${why})`);
  return buyers;
}
