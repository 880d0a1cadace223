import type { TemplatedApp } from 'uWebSockets.js';
import type { Catalog } from '../events/catalog';
import { Outcome } from '../outcome';
import { corsOrigin, writeCorsHeaders } from './cors';
import { writeMethodNotAllowed, writeOutcome, formatOf, Format } from './codec';

/** How long a browser or a CDN may reuse the answer. */
export const EVENT_MAX_AGE_S = 1;

/**
 * GET /events/{event}: public, for a countdown page. Name, window, state and
 * whether it is sold out, from what this process knows (no Redis call):
 * never the exact stock left, which would tell a bot when to stop trying.
 * "Sold out" is Redis' count as of this process's last answer from Redis or
 * event refresh (SECKILL_EVENT_REFRESH_MS). Cacheable for a second.
 */
export function registerEventRoute(app: TemplatedApp, catalog: Catalog): void {
  app.get('/events/:event', (res, req) => {
    const event = catalog.get(req.getParameter(0));
    if (event === undefined) return writeOutcome(res, Outcome.UnknownEvent, 0, formatOf(req.getHeader('accept')));
    const now = Date.now();
    const body = JSON.stringify({
      event: event.id,
      name: event.name,
      start: new Date(event.start).toISOString(),
      end: new Date(event.end).toISOString(),
      state: event.state(now),
      soldOut: event.remaining <= 0,
    });
    res.writeHeader('Content-Type', 'application/json').writeHeader('Cache-Control', `public, max-age=${EVENT_MAX_AGE_S}`);
    // The answer differs by Origin only when CORS is on; say so to caches then.
    if (corsOrigin(res) !== undefined) res.writeHeader('Vary', 'Origin');
    writeCorsHeaders(res, false);
    res.end(body);
  });
  app.any('/events/:event', (res) => writeMethodNotAllowed(res, 'GET', Format.Json));
}
