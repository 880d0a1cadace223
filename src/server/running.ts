import type { Pool } from 'mysql2/promise';
import type { Consumer } from '../admission/consumer';
import type { Parked } from '../admission/parked';
import type { ParkQueue } from '../admission/queue';
import type { Catalog } from '../events/catalog';
import type { FleetCounts } from '../metrics/fleet-counts';
import type { Metrics } from '../metrics/metrics';
import type { ExpirySweeper } from '../orders/expiry-sweeper';
import type { Persister } from '../orders/persister';
import type { RedisClient } from '../redis/scripts';

/** A running server: one process (SECKILL_WORKERS=1), or the primary of its workers. */
export interface RunningApp {
  readonly port: number;
  /** One Redis, or a Redis Cluster (REDIS_CLUSTER_NODES). */
  readonly redis: RedisClient;
  readonly pool: Pool | undefined;
  readonly catalog: Catalog;
  readonly persister: Persister | undefined;
  readonly sweeper: ExpirySweeper;
  /** Graceful: stop listening, decide or answer every parked request, flush the persister, close Redis and MySQL, stop local services. */
  close(): Promise<void>;
}

/** One process that serves buys itself: its queue and consumer are here to look at (tests). */
export interface SingleApp extends RunningApp {
  readonly queue: ParkQueue;
  readonly consumer: Consumer<Parked>;
  readonly metrics: Metrics;
  /** This process's answer counts as the fleet sees them. */
  readonly fleet: FleetCounts;
}
