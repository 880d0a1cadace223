import type { Catalog } from '../events/catalog';
import { Outcome } from '../outcome';
import { writeMethodNotAllowed, writeOutcome, formatOf, Format } from './codec';
import type { Routes } from './routes';

/** How long a browser or a CDN may reuse the answer. */
export const EVENT_MAX_AGE_S = 1;

/**
 * GET /events/{event}: public, for a countdown page. Name, window, state and
 * whether it is sold out or paused, from what this process knows (no Redis call):
 * never the exact stock left, which would tell a bot when to stop trying.
 * "Sold out" is Redis' count as of this process's last answer from Redis or
 * event refresh (SECKILL_EVENT_REFRESH_MS). Cacheable for a second.
 */
export function registerEventRoute(routes: Routes, catalog: Catalog): void {
  routes.get('/events/:event', (x, req) => {
    const event = catalog.get(req.getParameter(0));
    if (event === undefined) return writeOutcome(x, Outcome.UnknownEvent, 0, formatOf(req.getHeader('accept')));
    const now = Date.now();
    const body = JSON.stringify({
      event: event.id,
      name: event.name,
      start: new Date(event.start).toISOString(),
      end: new Date(event.end).toISOString(),
      state: event.state(now),
      soldOut: event.remaining <= 0,
      paused: event.paused,
      // Buys need a solved challenge (GET /events/{e}/challenge): the difficulty, so a client knows what is coming.
      ...(event.pow === undefined ? {} : { pow: event.pow }),
    });
    x.head(200, 'application/json').header('Cache-Control', `public, max-age=${EVENT_MAX_AGE_S}`);
    // The answer differs by Origin only when CORS is on; say so to caches then.
    if (x.origin !== undefined) x.header('Vary', 'Origin');
    x.end(body);
  });
  routes.any('/events/:event', (x) => writeMethodNotAllowed(x, 'GET', Format.Json));
}
