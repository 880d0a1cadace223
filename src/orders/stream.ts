/**
 * One order of an event's stream, as the scripts append them: a won order
 * (buy-8.lua: one entry per batch, o <first order number>, d <deadline> when
 * the event has one, then u <user> per win, the users holding o, o+1, ...),
 * or the settlement of a due order (payOrder-7.lua, expireDue-6.lua:
 * s p|x, o, u). An entry of one order (o, u) reads the same either way.
 * A win of an event sold in lots (buyLots-8.lua) has q, k, n after its u.
 */
export interface StreamOrder {
  /** Stream entry id, `<ms>-<seq>`, shared by the orders of one batch: its time part is when Redis granted (or settled) them. */
  readonly id: string;
  readonly orderNo: number;
  readonly user: string;
  readonly created: Date;
  /** A won order's payment deadline (ms); null: none, the win is final. */
  readonly payBy?: number | null;
  /** Set on a settlement entry: the order was paid or expired at `created`. */
  readonly settled?: 'paid' | 'expired';
  /** An event sold in lots (buyLots-8.lua's q, k, n): its units, its SKU ('' for none), its place among the user's orders; absent: 1, '', 1. */
  readonly qty?: number;
  readonly sku?: string;
  readonly nth?: number;
}

type RawEntry = [id: string, fields: string[]];

/** Entries of XREADGROUP / XAUTOCLAIM / XRANGE → orders, in stream order; entries already deleted come back with no fields and are skipped. */
export function parseEntries(entries: readonly RawEntry[] | null | undefined): StreamOrder[] {
  const out: StreamOrder[] = [];
  for (const entry of entries ?? []) {
    const [id, fields] = entry;
    if (!fields || fields.length < 4) continue;
    let orderNo = 0;
    const users: string[] = [];
    // Per win of a lots entry: q, k, n follow its u.
    const lots: { qty: number; sku: string; nth: number }[] = [];
    let payBy: number | null = null;
    let settled: 'paid' | 'expired' | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const f = fields[i];
      if (f === 'u') users.push(fields[i + 1] ?? '');
      else if (f === 'q') (lots[users.length - 1] ??= { qty: 1, sku: '', nth: 1 }).qty = Number(fields[i + 1]);
      else if (f === 'k') (lots[users.length - 1] ??= { qty: 1, sku: '', nth: 1 }).sku = fields[i + 1] ?? '';
      else if (f === 'n') (lots[users.length - 1] ??= { qty: 1, sku: '', nth: 1 }).nth = Number(fields[i + 1]);
      else if (f === 'o') orderNo = Number(fields[i + 1]);
      else if (f === 'd') payBy = Number(fields[i + 1]);
      else if (f === 's') settled = fields[i + 1] === 'p' ? 'paid' : 'expired';
    }
    const created = new Date(Number(id.slice(0, id.indexOf('-'))));
    if (settled !== undefined) {
      out.push({ id, orderNo, user: users[0] ?? '', created, settled });
      continue;
    }
    for (let k = 0; k < users.length; k++) {
      const lot = lots[k];
      out.push(lot === undefined ? { id, orderNo: orderNo + k, user: users[k] ?? '', created, payBy } : { id, orderNo: orderNo + k, user: users[k] ?? '', created, payBy, ...lot });
    }
  }
  return out;
}

/** The distinct entries behind a list of orders, each with how many won orders it holds (settlements: 0), for ackOrders. */
export function entriesOf(orders: readonly StreamOrder[]): { id: string; orders: number }[] {
  const out: { id: string; orders: number }[] = [];
  for (const o of orders) {
    const last = out[out.length - 1];
    const won = o.settled === undefined ? 1 : 0;
    if (last !== undefined && last.id === o.id) last.orders += won;
    else out.push({ id: o.id, orders: won });
  }
  return out;
}
