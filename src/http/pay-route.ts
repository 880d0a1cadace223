import type { Catalog } from '../events/catalog';
import { Outcome } from '../outcome';
import { payOrder, type RedisClient } from '../redis/scripts';
import { contentLength } from './body';
import { formatOf, writeMethodNotAllowed, writePayAnswer, writeTooLarge } from './codec';
import { logRepeated } from '../log-repeat';
import type { Routes } from './routes';

/** The route needs no body; one larger than this is refused (413, nothing paid), as on a buy. */
const MAX_PAY_BODY = 1024;
const ORDER_NO = /^[1-9]\d{0,9}$/;

/** HTTP status of each answer the payment route gives. */
const PAY_STATUS: Partial<Record<Outcome, number>> = {
  [Outcome.Won]: 200,
  [Outcome.Expired]: 409,
  [Outcome.NoOrder]: 404,
  [Outcome.Unavailable]: 503,
};

/**
 * POST /events/{event}/orders/{n}/paid, from the payment service
 * (SECKILL_PAYMENT_TOKEN, or the admin token). One payOrder-7.lua call
 * decides: paid before the deadline (200, also when already paid), expired
 * at or past it (409 code 12: the unit is back on sale, and if no sweeper
 * had expired it yet this call did, and tells the catalog), or no such
 * order awaiting payment (404 code 11).
 */
export function registerPayRoute(
  routes: Routes,
  deps: { catalog: Catalog; redis: RedisClient; isPayer: (authorization: string) => boolean },
): void {
  routes.post('/events/:event/orders/:n/paid', (x, req) => {
    const format = formatOf(req.getHeader('accept'));
    const authorization = req.getHeader('authorization');
    const length = contentLength(req.getHeader('content-length'));
    // No length but a Transfer-Encoding (chunked): the body's size is known only once it is read.
    const sizeUnknown = Number.isNaN(length) && req.getHeader('transfer-encoding') !== '';
    const eventId = req.getParameter(0);
    const n = req.getParameter(1);
    if (!deps.isPayer(authorization)) return writePayAnswer(x, 401, Outcome.Unauthorized, 0, format);
    if (length > MAX_PAY_BODY) return writeTooLarge(x, format);
    if (!ORDER_NO.test(n)) return writePayAnswer(x, 400, Outcome.BadRequest, 0, format);
    const event = deps.catalog.get(eventId);
    if (event === undefined) return writePayAnswer(x, 404, Outcome.UnknownEvent, 0, format);
    const order = Number(n);
    x.onAbort();
    const pay = (): void => {
      payOrder(deps.redis, event.keys, order).then(
        ({ code, remaining, user }) => {
          // This call expired the order: the unit is back, as if a sweeper had found it.
          if (code === Outcome.Expired && remaining >= 0) deps.catalog.unitsReturned(event.id, remaining, [{ order, user }]);
          // Redis lost an event this process knows: restore it; the payment service retries (503).
          if (code === Outcome.UnknownEvent) void deps.catalog.restore(event.id);
          const status = PAY_STATUS[code as Outcome] ?? 503;
          x.later(() => writePayAnswer(x, status, status === 503 ? Outcome.Unavailable : (code as Outcome), order, format));
        },
        (err: unknown) => {
          logRepeated('warn', { event: event.id, order, err: (err as Error).message }, 'payment could not be recorded');
          x.later(() => writePayAnswer(x, 503, Outcome.Unavailable, 0, format));
        },
      );
    };
    // Read a chunked body before paying, so one over the limit pays nothing (413, as with a Content-Length).
    if (!sizeUnknown) return pay();
    x.readBody(MAX_PAY_BODY, (body) => {
      if (body === undefined) x.later(() => writeTooLarge(x, format));
      else pay();
    });
  });
  routes.any('/events/:event/orders/:n/paid', (x, req) => writeMethodNotAllowed(x, 'POST', formatOf(req.getHeader('accept'))));
}
