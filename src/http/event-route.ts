import type { Catalog } from '../events/catalog';
import { commitOf, type PublishedEntrant } from '../events/draw';
import { readDrawList } from '../events/draw-list';
import type { EventStore } from '../events/event-store';
import type { SaleEvent } from '../events/sale-event';
import { logRepeated } from '../log-repeat';
import { Outcome } from '../outcome';
import type { RedisClient } from '../redis/scripts';
import { writeJson, writeMethodNotAllowed, writeOutcome, formatOf, Format } from './codec';
import type { Exchange } from './exchange';
import type { Routes } from './routes';

/** How long a browser or a CDN may reuse the answer. */
export const EVENT_MAX_AGE_S = 1;
/** A decided draw never changes: its list may be kept long. */
const DRAW_MAX_AGE_S = 3600;

/** The draw's part of the public view: its window and commit from the start, its seed and entrants once decided. */
function drawView(event: SaleEvent): Record<string, unknown> {
  if (event.drawMs <= 0 || event.draw.seed === '') return {};
  const decided = event.draw.decided > 0;
  return {
    drawMs: event.drawMs,
    drawCommit: commitOf(event.draw.seed),
    ...(decided ? { drawSeed: event.draw.seed, entrants: event.draw.entrants } : {}),
  };
}

export interface EventRouteDeps {
  readonly catalog: Catalog;
  readonly redis: RedisClient;
  /** MySQL keeps a decided draw's list, for when Redis lost it. */
  readonly store?: EventStore;
}

/**
 * GET /events/{event}: public, for a countdown page. Name, window, state and
 * whether it is sold out or paused, from what this process knows (no Redis call):
 * never the exact stock left, which would tell a bot when to stop trying.
 * "Sold out" is Redis' count as of this process's last answer from Redis or
 * event refresh (SECKILL_EVENT_REFRESH_MS). Cacheable for a second. An event
 * with a draw at the opening adds its window and the commit of its seed, and
 * once the draw is decided the seed and the number of entrants.
 *
 * GET /events/{event}/draw: public, once the draw is decided: every entrant's
 * key with the units asked and won, and what `seckill draw verify` needs to
 * recompute it (the seed, its commit, the units the entrants shared). Read
 * from Redis (or MySQL, after a restore) once per process, then from memory.
 */
export function registerEventRoute(routes: Routes, { catalog, redis, store }: EventRouteDeps): void {
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
      ...drawView(event),
    });
    x.head(200, 'application/json').header('Cache-Control', `public, max-age=${EVENT_MAX_AGE_S}`);
    // The answer differs by Origin only when CORS is on; say so to caches then.
    if (x.origin !== undefined) x.header('Vary', 'Origin');
    x.end(body);
  });
  routes.any('/events/:event', (x) => writeMethodNotAllowed(x, 'GET', Format.Json));

  /** Per event and seed, the published list once read (a decided draw does not change). */
  const lists = new Map<string, Promise<string>>();
  routes.get('/events/:event/draw', (x, req) => {
    const event = catalog.get(req.getParameter(0));
    if (event === undefined) return writeJson(x, 404, { c: Outcome.UnknownEvent, error: 'no such event' });
    if (event.drawMs <= 0) return writeJson(x, 404, { c: Outcome.BadRequest, error: 'this event has no draw' });
    if (event.draw.decided === 0) {
      return writeJson(x, 409, { c: Outcome.BadRequest, error: `the draw is decided at ${new Date(event.start + event.drawMs).toISOString()}` });
    }
    const id = `${event.id}/${event.draw.seed}`;
    let list = lists.get(id);
    if (list === undefined) {
      list = publish(event, redis, store);
      lists.set(id, list);
      // A failed read is not kept: the next request reads again.
      list.catch(() => lists.delete(id));
    }
    answerLater(x, event.id, list);
  });
  routes.any('/events/:event/draw', (x) => writeMethodNotAllowed(x, 'GET', Format.Json));
}

async function publish(event: SaleEvent, redis: RedisClient, store: EventStore | undefined): Promise<string> {
  const [fields, fromRedis] = await Promise.all([redis.hmget(event.keys.meta, 'drawStock', 'drawEntrants'), readDrawList(redis, event.keys)]);
  let entrants: PublishedEntrant[] = fromRedis;
  let stock = Number(fields[0] ?? 0);
  // Redis lost the list (restored from MySQL): MySQL has what was published.
  if (entrants.length === 0 && Number(fields[1] ?? 0) > 0 && store !== undefined) {
    entrants = await store.drawEntrants(event.id);
    stock = (await store.drawOf(store.pool, event.id)).stock;
  }
  return JSON.stringify({
    event: event.id,
    drawMs: event.drawMs,
    drawCommit: commitOf(event.draw.seed),
    drawSeed: event.draw.seed,
    stock,
    entrants: entrants.map((e) => [e.key, e.asked, e.won]),
  });
}

function answerLater(x: Exchange, eventId: string, list: Promise<string>): void {
  x.onAbort();
  list.then(
    (body) =>
      x.later(() => {
        x.head(200, 'application/json').header('Cache-Control', `public, max-age=${DRAW_MAX_AGE_S}`);
        if (x.origin !== undefined) x.header('Vary', 'Origin');
        x.end(body);
      }),
    (err: unknown) => {
      logRepeated('warn', { event: eventId, err }, 'could not read a draw');
      x.later(() => writeJson(x, 503, { c: Outcome.Unavailable, error: 'could not read the draw: retry' }));
    },
  );
}
