import type { VerifyUser } from '../auth/jwt';
import type { Catalog } from '../events/catalog';
import type { EventStore } from '../events/event-store';
import { Outcome } from '../outcome';
import type { RedisClient } from '../redis/scripts';
import { formatOf, writeMethodNotAllowed, writeOrderList, writeOrderState, writeOutcome, type ListedOrder, type PayState } from './codec';
import { parseHolding } from '../redis/lots';
import type { SaleEvent } from '../events/sale-event';
import { logRepeated } from '../log-repeat';
import type { Routes } from './routes';
import type { Exchange } from './exchange';
import type { Format } from './codec';

/**
 * How long an order query waits for MySQL to say whether the order is stored.
 * Past it the answer is "pending": the order is Redis' to tell, and a slow or
 * stalled MySQL (the pool gives up only after SECKILL_MYSQL_TIMEOUT_MS, and
 * later for callers queued behind others) must not hold a winner's page.
 */
const CONFIRM_WAIT_MS = 1_000;

/** `p`'s value, or `otherwise` if it fails or takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number, otherwise: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(otherwise), ms)));
  try {
    return await Promise.race([p.catch(() => otherwise), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET /events/{event}/order: the caller's order, if any. Redis' buyers hash
 * says whether there is one (a winner this process knows needs no Redis
 * call); MySQL says whether it is stored yet ("confirmed") or still on its
 * way through the stream ("pending"). MySQL unreachable, or not answering
 * within CONFIRM_WAIT_MS, reads as pending.
 * An event with a payment deadline adds the order's payment state from
 * Redis: due (with the deadline), paid or expired.
 */
export function registerOrderRoute(
  routes: Routes,
  deps: { catalog: Catalog; redis: RedisClient; store: EventStore | undefined; verifyUser: VerifyUser },
): void {
  routes.get('/events/:event/order', (x, req) => {
    const format = formatOf(req.getHeader('accept'));
    const user = deps.verifyUser(req.getHeader('authorization'), x);
    const eventId = req.getParameter(0);
    if (user === undefined) return writeOutcome(x, Outcome.Unauthorized, 0, format);
    const event = deps.catalog.get(eventId);
    if (event === undefined) return writeOutcome(x, Outcome.UnknownEvent, 0, format);
    x.onAbort();
    if (event.lots) return listOrders(x, deps, event, user, format);
    const known = event.winners.get(user);
    void (async (): Promise<[Outcome, number, boolean, PayState | undefined]> => {
      const order = known ?? Number((await deps.redis.hget(event.keys.buyers, user)) ?? 0);
      if (order === 0) return [Outcome.NoOrder, 0, false, undefined];
      const [confirmed, pay] = await Promise.all([
        deps.store === undefined ? false : within(deps.store.hasOrder(event.id, order, user), CONFIRM_WAIT_MS, false),
        payState(deps.redis, event, order),
      ]);
      return [Outcome.Won, order, confirmed, pay];
    })().then(
      ([code, order, confirmed, pay]) => {
        x.later(() => (code === Outcome.Won ? writeOrderState(x, order, confirmed, format, pay) : writeOutcome(x, code, 0, format)));
      },
      (err: unknown) => {
        logRepeated('warn', { err: (err as Error).message }, 'order query failed');
        x.later(() => writeOutcome(x, Outcome.Unavailable, 0, format));
      },
    );
  });
  routes.any('/events/:event/order', (x, req) => writeMethodNotAllowed(x, 'GET', formatOf(req.getHeader('accept'))));
}

/**
 * The order query of an event sold in lots: every order the user holds,
 * oldest first, each with its units, SKU (events with SKUs), whether MySQL
 * has it, and its payment state (events with a payment deadline); 11 when
 * the user has none.
 */
function listOrders(x: Exchange, deps: { redis: RedisClient; store: EventStore | undefined }, event: SaleEvent, user: string, format: Format): void {
  void (async (): Promise<ListedOrder[]> => {
    const held = parseHolding(await deps.redis.hget(event.keys.buyers, user));
    if (held.orders.length === 0) return [];
    const [stored, pays] = await Promise.all([
      deps.store === undefined ? new Set<number>() : within(deps.store.userOrders(event.id, user), CONFIRM_WAIT_MS, new Set<number>()),
      Promise.all(held.orders.map((o) => payState(deps.redis, event, o.order))),
    ]);
    return held.orders.map((o, i) => {
      const pay = pays[i];
      return {
        o: o.order,
        q: o.q,
        ...(event.hasSkus ? { sku: o.sku } : {}),
        s: stored.has(o.order) ? 'confirmed' : 'pending',
        ...(pay === undefined ? {} : pay),
      };
    });
  })().then(
    (orders) => x.later(() => (orders.length === 0 ? writeOutcome(x, Outcome.NoOrder, 0, format) : writeOrderList(x, orders, format))),
    (err: unknown) => {
      logRepeated('warn', { err: (err as Error).message }, 'order query failed');
      x.later(() => writeOutcome(x, Outcome.Unavailable, 0, format));
    },
  );
}

/** An order's payment state, read in one MULTI; undefined for an event without a payment deadline. */
async function payState(redis: RedisClient, event: SaleEvent, order: number): Promise<PayState | undefined> {
  if (event.payWithin <= 0) return undefined;
  const n = String(order);
  const replies = await redis.multi().zscore(event.keys.due, n).sismember(event.keys.paid, n).exec();
  const deadline = replies?.[0]?.[1] as string | null | undefined;
  if (deadline != null) return { p: 'due', d: Number(deadline) };
  return { p: replies?.[1]?.[1] === 1 ? 'paid' : 'expired' };
}
