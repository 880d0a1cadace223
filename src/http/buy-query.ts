/** The most units one buy may ask for (any event's limit is at most this). */
export const MAX_Q = 100;

/** What a buy asks for beyond one unit: `q` units (0: malformed, answered 9) of SKU `sku` ('' when not named). */
export interface BuyAsk {
  readonly q: number;
  readonly sku: string;
}

/**
 * Reads a buy's query, `q=2&sku=red` (either may be left out; the event
 * decides whether they fit: src/admission/admission.ts). A q that is not a
 * whole number from 1 to MAX_Q reads as 0; so does q or sku given twice.
 * Any other parameter is left alone (a cache-buster such as `_=1712345`
 * changed nothing before lots existed, and still changes nothing). Only
 * called when there is a query: the plain buy reads nothing here.
 */
export function parseBuyQuery(query: string): BuyAsk {
  let q = 1;
  let sku = '';
  let seen = 0;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (key === 'q' && (seen & 1) === 0) {
      seen |= 1;
      q = /^[1-9]\d{0,2}$/.test(value) && Number(value) <= MAX_Q ? Number(value) : 0;
    } else if (key === 'sku' && (seen & 2) === 0) {
      seen |= 2;
      sku = /^[A-Za-z0-9_-]{1,32}$/.test(value) ? value : '\u0000';
    } else if (key === 'q' || key === 'sku') {
      return { q: 0, sku };
    }
  }
  return { q, sku };
}
