import { adminRefusal } from './admin-refusal';
import { Outcome, OUTCOMES } from '../outcome';
import type { Catalog } from '../events/catalog';
import { parseDefinition, pastStart } from '../events/definition';
import { readCounts } from '../events/event-counts';
import type { SaleEvent } from '../events/sale-event';
import { CHANNEL_NAMES } from '../events/answer-counts';
import { EVENT_ID } from '../redis/keys';
import { PauseResult, type RedisClient } from '../redis/scripts';
import { PutEventResult, type PauseState } from '../sale';
import type { QueueView } from '../metrics/metrics';
import { FleetCounts, type ProcessCounts } from '../metrics/fleet-counts';
import { contentLength } from './body';
import { writeJson, writeMethodNotAllowed, Format } from './codec';
import type { Exchange } from './exchange';
import type { Handler, Routes } from './routes';
import { log } from '../log';
import { logRepeated } from '../log-repeat';
import { describeFailure, failedDependency } from '../services/failed-dependency';

const MAX_ADMIN_BODY = 16 * 1024;

export interface AdminDeps {
  readonly catalog: Catalog;
  readonly redis: RedisClient;
  readonly queue: QueueView;
  readonly isAdmin: (authorization: string) => boolean;
  /** Every process's answer counts for an event (FleetCounts.processes). */
  readonly processes: (event: SaleEvent) => Promise<ProcessCounts[]>;
  /** A secret to sign proof-of-work challenges with is configured: without one, an event with `pow` is refused. */
  readonly canSignChallenges: boolean;
}

function error(x: Exchange, status: number, code: Outcome, message: string): void {
  writeJson(x, status, { c: code, error: message });
}

/**
 * Runs an async admin step and answers corked, unless the client left (the
 * abort handler is registered here: call it before the handler returns). A
 * failure is 503, code 10, and its error names the service that failed: a
 * PUT writes MySQL and Redis, and "Redis unreachable" during a MySQL stall
 * sent the operator to the wrong one.
 */
function respondLater(x: Exchange, work: Promise<[number, unknown]>): void {
  x.onAbort();
  work.then(
    ([status, body]) => x.later(() => writeJson(x, status, body)),
    (err: unknown) => {
      logRepeated('warn', { dependency: failedDependency(err), err }, 'admin request failed');
      x.later(() => error(x, 503, Outcome.Unavailable, describeFailure(err)));
    },
  );
}

export function eventView(event: SaleEvent): Record<string, unknown> {
  return {
    event: event.id,
    name: event.name,
    stock: event.stock,
    start: new Date(event.start).toISOString(),
    end: new Date(event.end).toISOString(),
    payWithin: event.payWithin,
    ...(event.pow === undefined ? {} : { pow: event.pow }),
    ...(event.drawMs > 0 ? { drawMs: event.drawMs } : {}),
    state: event.state(Date.now()),
    paused: event.paused,
    // Sold in lots only: a one-unit event's view is as it was.
    ...(event.lots ? { limit: event.limit, ...(event.hasSkus ? { skus: event.skus } : {}) } : {}),
  };
}

/** Per SKU ('' without SKUs) of an event sold in lots: its stock, units left and sold, orders granted (Redis' meta). */
async function skuStats(deps: AdminDeps, event: SaleEvent): Promise<Record<string, unknown>> {
  const ids = event.skuIds;
  const values = await deps.redis.hmget(event.keys.meta, ...ids.flatMap((id) => [`sku:${id}`, `orders:${id}`]));
  const out: Record<string, unknown> = {};
  ids.forEach((id, i) => {
    const stock = event.hasSkus ? (event.skus[id] ?? 0) : event.stock;
    const left = Number(values[2 * i] ?? 0);
    out[id] = { stock, remaining: left, sold: stock - left, orders: Number(values[2 * i + 1] ?? 0) };
  });
  return out;
}

async function stats(deps: AdminDeps, event: SaleEvent): Promise<Record<string, unknown>> {
  const [counts, rows, skus] = await Promise.all([
    readCounts(deps.redis, event.keys), deps.processes(event), event.lots ? skuStats(deps, event) : undefined,
  ]);
  const answers = FleetCounts.sum(rows);
  const left = counts.remaining ?? 0;
  // Every live process's queue (this process's own row is always among them).
  const live = FleetCounts.queues(rows, deps.queue.capacity) ?? { waiting: 0, parked: 0, capacity: deps.queue.capacity };
  const outcomes: Record<string, number> = {};
  const byChannel: Record<string, Record<string, number>> = {};
  for (const o of OUTCOMES) outcomes[o.name] = answers.total(o.code);
  CHANNEL_NAMES.forEach((name, channel) => {
    const counts: Record<string, number> = (byChannel[name] = {});
    for (const o of OUTCOMES) counts[o.name] = answers.total(o.code, channel);
  });
  return {
    ...eventView(event),
    remaining: left,
    sold: event.stock - left,
    buyers: counts.buyers,
    ...(skus === undefined ? {} : { bySku: skus }),
    payments: { due: counts.due, paid: counts.paid, expired: counts.expired },
    pause: pauseView(counts.pause, Date.now()),
    streamLength: counts.streamLength,
    unpersisted: counts.unpersisted,
    queue: { waiting: live.waiting, parked: live.parked, capacity: live.capacity },
    local: { remaining: event.remaining, reserved: event.reserved, knownWinners: event.winners.size, queuedUsers: event.queued.size },
    outcomes,
    outcomesByChannel: byChannel,
    // Each process of each instance: its answers (the totals above are their sum), live or gone.
    processes: rows.map((r) => ({
      id: r.id,
      state: r.final ? 'stopped' : r.live ? 'live' : 'gone',
      waiting: r.waiting,
      parked: r.parked,
      outcomes: Object.fromEntries(OUTCOMES.map((o) => [o.name, r.answers.total(o.code)]).filter(([, n]) => n !== 0)),
    })),
  };
}

/** The pause switch as the admin answers show it: paused since when, and the time paused in all (this pause included). */
function pauseView(p: PauseState, now: number): Record<string, unknown> {
  return {
    paused: p.since > 0,
    ...(p.since > 0 ? { since: new Date(p.since).toISOString() } : {}),
    pauses: p.pauses,
    pausedMs: p.pausedMs + (p.since > 0 ? Math.max(0, now - p.since) : 0),
  };
}

const PAUSE_WORD: Record<PauseResult, string> = {
  [PauseResult.Done]: 'done',
  [PauseResult.AlreadySo]: 'unchanged',
  [PauseResult.Unknown]: 'no such event',
};

const PUT_STATUS: Record<PutEventResult, number> = {
  [PutEventResult.Created]: 201,
  [PutEventResult.Updated]: 200,
  [PutEventResult.Unchanged]: 200,
  [PutEventResult.HasBuyers]: 409,
  [PutEventResult.Restoring]: 503,
};
const PUT_WORD: Record<PutEventResult, string> = {
  [PutEventResult.Created]: 'created',
  [PutEventResult.Updated]: 'updated',
  [PutEventResult.Unchanged]: 'unchanged',
  [PutEventResult.HasBuyers]: 'refused: the sale has buyers; only an identical definition is accepted',
  [PutEventResult.Restoring]: 'refused: the event is being restored from MySQL; retry',
};

/**
 * Every event this process knows, with Redis' count of each (one GET per
 * event; null while Redis has none: being restored), by start then id.
 */
async function list(deps: AdminDeps): Promise<Record<string, unknown>> {
  const now = Date.now();
  const events = [...deps.catalog.all()].sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
  const counts = await Promise.all(events.map((e) => deps.redis.get(e.keys.stock)));
  return {
    events: events.map((e, i) => {
      const left = counts[i];
      const remaining = left == null ? null : Number(left);
      return { ...eventView(e), state: e.state(now), soldOut: remaining === 0, remaining };
    }),
  };
}

/** GET /admin/events, PUT and GET /admin/events/{event}, behind SECKILL_ADMIN_TOKEN. */
export function registerAdminRoutes(routes: Routes, deps: AdminDeps): void {
  routes.get('/admin/events', (x, req) => {
    const authorization = req.getHeader('authorization');
    if (!deps.isAdmin(authorization)) return error(x, 401, Outcome.Unauthorized, adminRefusal(authorization));
    respondLater(x, list(deps).then((l) => [200, l]));
  });

  routes.any('/admin/events', (x) => writeMethodNotAllowed(x, 'GET', Format.Json));

  routes.put('/admin/events/:event', (x, req) => {
    const authorization = req.getHeader('authorization');
    const id = req.getParameter(0);
    const length = contentLength(req.getHeader('content-length'));
    if (!deps.isAdmin(authorization)) return error(x, 401, Outcome.Unauthorized, adminRefusal(authorization));
    if (!EVENT_ID.test(id)) return error(x, 400, Outcome.BadRequest, 'event id must match [A-Za-z0-9_-]{1,64}');
    if (length > MAX_ADMIN_BODY) return error(x, 413, Outcome.BadRequest, `body over ${MAX_ADMIN_BODY} bytes`);
    x.readBody(MAX_ADMIN_BODY, (body) => {
      x.later(() => {
        if (body === undefined) return error(x, 413, Outcome.BadRequest, `body over ${MAX_ADMIN_BODY} bytes`);
        let input: unknown;
        try {
          input = JSON.parse(body.toString('utf8'));
        } catch {
          return error(x, 400, Outcome.BadRequest, 'body must be JSON');
        }
        const now = Date.now();
        const def = parseDefinition(input, now);
        if (typeof def === 'string') return error(x, 400, Outcome.BadRequest, def);
        if (def.pow !== undefined && !deps.canSignChallenges) {
          return error(x, 400, Outcome.BadRequest, 'pow needs SECKILL_POW_SECRET (or SECKILL_JWT_SECRET) set on the server, to sign challenges with');
        }
        // The event's own start may be put again (the same definition, a correction of its other fields).
        const past = pastStart(def.start, now, deps.catalog.get(id)?.start);
        if (past !== undefined) return error(x, 400, Outcome.BadRequest, past);
        respondLater(
          x,
          deps.catalog.put(id, def).then(({ result, event }) => {
            if (result !== PutEventResult.Unchanged) log.info({ event: id, result: PUT_WORD[result] }, 'event put');
            return [PUT_STATUS[result], { result: PUT_WORD[result], ...eventView(event), remaining: event.remaining }];
          }),
        );
      });
    });
  });

  routes.get('/admin/events/:event', (x, req) => {
    const authorization = req.getHeader('authorization');
    const id = req.getParameter(0);
    if (!deps.isAdmin(authorization)) return error(x, 401, Outcome.Unauthorized, adminRefusal(authorization));
    const event = deps.catalog.get(id);
    if (event === undefined) return error(x, 404, Outcome.UnknownEvent, 'no such event');
    respondLater(x, stats(deps, event).then((s) => [200, s]));
  });

  routes.any('/admin/events/:event', (x) => writeMethodNotAllowed(x, 'GET, PUT', Format.Json));

  // POST /admin/events/{event}/pause and /resume: the switch, on every process of every instance.
  routes.post('/admin/events/:event/pause', pauseHandler(deps, true));
  routes.any('/admin/events/:event/pause', (x) => writeMethodNotAllowed(x, 'POST', Format.Json));
  routes.post('/admin/events/:event/resume', pauseHandler(deps, false));
  routes.any('/admin/events/:event/resume', (x) => writeMethodNotAllowed(x, 'POST', Format.Json));
}

function pauseHandler(deps: AdminDeps, on: boolean): Handler {
  return (x, req) => {
    const authorization = req.getHeader('authorization');
    const id = req.getParameter(0);
    if (!deps.isAdmin(authorization)) return error(x, 401, Outcome.Unauthorized, adminRefusal(authorization));
    if (!EVENT_ID.test(id)) return error(x, 400, Outcome.BadRequest, 'event id must match [A-Za-z0-9_-]{1,64}');
    respondLater(
      x,
      deps.catalog.pause(id, on).then((o): [number, unknown] => {
        if (o.result === PauseResult.Unknown) return [404, { c: Outcome.UnknownEvent, error: 'no such event' }];
        return [
          200,
          {
            event: id,
            result: PAUSE_WORD[o.result],
            ...pauseView(o, Date.now()),
            // Orders numbered when the switch took effect: while paused, none above it is decided.
            orders: o.orders,
            ...(o.lastMs > 0 ? { lastPausedMs: o.lastMs } : {}),
          },
        ];
      }),
    );
  };
}
