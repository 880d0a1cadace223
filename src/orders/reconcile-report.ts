/** What `seckill reconcile` found for one event (src/orders/reconcile.ts, reconcile-lots.ts). */
export interface EventReport {
  readonly event: string;
  readonly stock: number;
  readonly remaining: number;
  readonly buyers: number;
  /** Orders in the stream: granted, not yet in MySQL (the persister's backlog). */
  readonly inStream: number;
  readonly mysqlOrders: number;
  readonly mysqlUsers: number;
  /** Orders granted by Redis and in neither MySQL nor the stream. */
  readonly missing: number;
  readonly problems: readonly string[];
  /** With --repair: orders written to MySQL from the buyers hash. */
  readonly repaired: number;
  /** Orders kept in order_conflicts: won in Redis, refused by MySQL (Redis lost data). */
  readonly conflicts: number;
  /** Orders awaiting payment, paid, and expired (their unit back in stock), in Redis. */
  readonly due: number;
  readonly paid: number;
  readonly expired: number;
  /** An event sold in lots: the orders Redis granted, and per SKU ('' without SKUs) its stock, count, units sold and orders. */
  readonly orders?: number;
  readonly skus?: Readonly<Record<string, SkuReport>>;
}

/** One SKU of an event sold in lots, in reconcile's report: units sold are those of its orders that did not expire. */
export interface SkuReport {
  readonly stock: number;
  readonly remaining: number;
  readonly sold: number;
  readonly orders: number;
}
