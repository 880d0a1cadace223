/**
 * The buyers hash value of an event sold in lots (lua/include/lots.lua):
 * the units granted to the user, expired orders' included, then each order,
 * `3;7,2,red;9,1,blue` (order 7 of 2 red, order 9 of 1 blue).
 */
export interface Lot {
  readonly order: number;
  readonly q: number;
  /** '' on an event without SKUs. */
  readonly sku: string;
}

export interface Holding {
  readonly units: number;
  /** In the order they were granted (ascending order numbers). */
  readonly orders: readonly Lot[];
}

/** Reads one buyers value of a lots event; a value without orders (or none) holds nothing. */
export function parseHolding(value: string | null | undefined): Holding {
  if (value == null || value === '') return { units: 0, orders: [] };
  const parts = value.split(';');
  const orders: Lot[] = [];
  for (let i = 1; i < parts.length; i++) {
    const [o, q, sku] = (parts[i] as string).split(',');
    orders.push({ order: Number(o), q: Number(q), sku: sku ?? '' });
  }
  return { units: Number(parts[0]), orders };
}

/** An owners value of a lots event, `q,sku,user`. */
export function parseOwner(value: string): { q: number; sku: string; user: string } {
  const m = /^(\d+),([A-Za-z0-9_-]*),([\s\S]*)$/.exec(value);
  return m === null ? { q: 1, sku: '', user: value } : { q: Number(m[1]), sku: m[2] ?? '', user: m[3] ?? '' };
}
