import { token } from './app';

/** A buy's answer on an event sold in lots (docs/OPERATIONS.md, Lots): q when above 1, k with 13, n with 14. */
export interface LotAnswer {
  readonly status: number;
  readonly c: number;
  readonly o?: number;
  readonly q?: number;
  readonly k?: number;
  readonly n?: number;
}

/** The query of a buy of q units, of `sku` when given. */
export function lotQuery(q: number, sku?: string): string {
  return `?q=${q}${sku === undefined ? '' : `&sku=${sku}`}`;
}

/** A buy over HTTP with its query as given (`?q=2&sku=red`, '' for none). */
export async function buyLot(base: string, event: string, user: string, query = ''): Promise<LotAnswer> {
  const res = await fetch(`${base}/events/${event}/buy${query}`, { method: 'POST', headers: { authorization: `Bearer ${token(user)}` } });
  return { status: res.status, ...((await res.json()) as Omit<LotAnswer, 'status'>) };
}
