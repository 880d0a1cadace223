/**
 * One entry of an event's stream, as the scripts append it: a won order
 * (buy-8.lua: o, u, and d, its payment deadline, when the event has one), or
 * the settlement of a due order (payOrder-7.lua, expireDue-6.lua: s p|x, o, u).
 */
export interface StreamOrder {
  /** Stream entry id, `<ms>-<seq>`: its time part is when Redis granted (or settled) the order. */
  readonly id: string;
  readonly orderNo: number;
  readonly user: string;
  readonly created: Date;
  /** A won order's payment deadline (ms); null: none, the win is final. */
  readonly payBy?: number | null;
  /** Set on a settlement entry: the order was paid or expired at `created`. */
  readonly settled?: 'paid' | 'expired';
}

type RawEntry = [id: string, fields: string[]];

/** Entries of XREADGROUP / XAUTOCLAIM → orders; entries already deleted come back with no fields and are skipped. */
export function parseEntries(entries: readonly RawEntry[] | null | undefined): StreamOrder[] {
  const out: StreamOrder[] = [];
  for (const entry of entries ?? []) {
    const [id, fields] = entry;
    if (!fields || fields.length < 4) continue;
    let orderNo = 0;
    let user = '';
    let payBy: number | null = null;
    let settled: 'paid' | 'expired' | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const f = fields[i];
      if (f === 'o') orderNo = Number(fields[i + 1]);
      else if (f === 'u') user = fields[i + 1] ?? '';
      else if (f === 'd') payBy = Number(fields[i + 1]);
      else if (f === 's') settled = fields[i + 1] === 'p' ? 'paid' : 'expired';
    }
    const created = new Date(Number(id.slice(0, id.indexOf('-'))));
    out.push(settled === undefined ? { id, orderNo, user, created, payBy } : { id, orderNo, user, created, settled });
  }
  return out;
}
