import os from 'node:os';
import type { Pool } from 'mysql2/promise';
import { Blocklist } from './admission/blocklist';
import type { Consumer } from './admission/consumer';
import type { Parked } from './admission/parked';
import type { ParkQueue } from './admission/queue';
import type { Config } from './config';
import type { Catalog } from './events/catalog';
import { EventStore } from './events/event-store';
import { assertNativeUws } from './http/uws';
import { log } from './log';
import type { Metrics } from './metrics/metrics';
import type { FleetCounts } from './metrics/fleet-counts';
import { ExpirySweeper } from './orders/expiry-sweeper';
import { Persister, persisterName } from './orders/persister';
import type { RedisClient } from './redis/scripts';
import { takePortLock } from './services/port-lock';
import { connectConfiguredRedis } from './services/redis-connect';
import { startServices } from './services/start';
import { startFront } from './server/front';
import { closeRedis, startSaleState } from './server/sale-state';
import { Shutdown } from './server/shutdown';
import { freePort, WorkerSupervisor } from './server/workers';

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

/** The per-worker share of a server-wide number (the rate, the burst, the queue's bound). */
function share(total: number, workers: number): number {
  return Math.max(1, Math.ceil(total / workers));
}

/**
 * Starts a server. With SECKILL_WORKERS=1 this process is the whole server;
 * with more, it is the primary: it owns the port and data folder locks, the
 * local redis-server and mariadbd, the persister and the expiry sweeper, and
 * supervises the workers, each a complete front (src/server/worker.ts).
 */
export function startApp(config: Config): Promise<RunningApp> {
  return config.workers > 1 ? startPrimary(config) : startSingle(config);
}

/** What both kinds of server set up first: the locks, the services, the sale state, the singletons. */
async function startHouse(config: Config, withWinners: boolean) {
  assertNativeUws();
  log.level = config.logLevel;
  if (config.jwtSecret === '' && config.jwtPublicKey === '') {
    throw new Error('set SECKILL_JWT_SECRET (HS256) or SECKILL_JWT_PUBLIC_KEY (RS256/ES256/EdDSA) to verify buyer tokens');
  }
  const shutdown = new Shutdown();
  try {
    // Read before anything starts: a missing file is a configuration error.
    const blocklist = config.blocklist === '' ? undefined : new Blocklist(config.blocklist);
    if (blocklist !== undefined) shutdown.add('blocklist', () => blocklist.close());
    // Worker processes share one given port (SO_REUSEPORT is set only on a given port): for PORT=0, pick a free one now.
    const port = config.workers > 1 && config.port === 0 ? await freePort(config.host) : config.port;
    // One seckill process per port (services/port-lock.ts): taken before any service starts, so a second server fails at once, naming the first.
    const portLock = port === 0 ? undefined : await takePortLock(port);
    if (portLock !== undefined) shutdown.add('port lock', () => portLock.release());
    const services = await startServices(config);
    shutdown.add('services', () => services.stop());
    const { pool } = services;
    if (pool === undefined) log.warn('MYSQL_URL=none: orders stay in Redis only, nothing is persisted');
    const store = pool === undefined ? undefined : new EventStore(pool);
    const state = await startSaleState(config, services.redisTarget, store, shutdown, withWinners);
    const warmed = await state.catalog.warmFromStore(Date.now());
    await state.catalog.refresh();
    state.catalog.startRefreshing(config.eventRefreshMs);

    let persister: Persister | undefined;
    if (pool !== undefined && config.persister) {
      const persisterRedis = await connectConfiguredRedis(config, services.redisTarget, Math.max(config.redisTimeoutMs, 5_000), 'seckill-persister');
      shutdown.add('persister connection', () => closeRedis(persisterRedis));
      const p = new Persister(persisterRedis, pool, () => state.catalog.all(), {
        batch: config.persistBatch,
        waitMs: config.persistWaitMs,
        gatherMs: config.persistGatherMs,
        claimIdleMs: config.persistClaimMs,
        consumer: persisterName(config.dataDir, 'server'),
      });
      p.start();
      persister = p;
      shutdown.add('persister', async () => {
        if ((await p.flush(10_000)) === false) log.warn('persister flush incomplete: the rest stays in the Redis streams for the next start');
      });
    }
    // Unpaid orders past their deadline go back on sale, traffic or not (one sweeper per server; the script decides).
    const { catalog } = state;
    const sweeper = new ExpirySweeper(state.redis, () => catalog.all(), (id, remaining, expired) => catalog.unitsReturned(id, remaining, expired));
    sweeper.start();
    shutdown.add('expiry sweeper', () => sweeper.stop());
    return { shutdown, blocklist, port, services, pool, store, state, persister, sweeper, warmed };
  } catch (err) {
    await shutdown.close();
    throw err;
  }
}

/** `<host>:<pid>`: the processes of one server share it in their fleet ids. */
function instanceId(): string {
  return `${os.hostname()}:${process.pid}`;
}

function closer(shutdown: Shutdown): () => Promise<void> {
  return () =>
    shutdown.close().then(() => {
      log.info('stopped');
    });
}

/** SECKILL_WORKERS=1: this process serves HTTP and decides, as one event loop. */
export async function startSingle(config: Config): Promise<SingleApp> {
  const house = await startHouse(config, true);
  const { shutdown, state, pool, store, services, persister, sweeper } = house;
  try {
    const front = await startFront(
      state,
      {
        config,
        port: house.port,
        exclusive: true,
        processId: `${instanceId()}/main`,
        pool,
        store,
        blocklist: house.blocklist,
        persister,
        services: () => services.health(),
      },
      shutdown,
    );
    shutdown.add('log', () => log.info({ waiting: front.queue.size, parked: front.queue.live }, 'shutting down'));
    log.info(
      { host: config.host, port: front.port, workers: 1, events: [...state.catalog.all()].map((e) => e.id), warmedFromMysql: house.warmed },
      'listening',
    );
    const { queue, consumer, metrics, fleet } = front;
    return { port: front.port, redis: state.redis, pool, catalog: state.catalog, queue, consumer, metrics, fleet, persister, sweeper, close: closer(shutdown) };
  } catch (err) {
    await shutdown.close();
    throw err;
  }
}

/** SECKILL_WORKERS > 1: the primary, which serves no request itself. */
async function startPrimary(config: Config): Promise<RunningApp> {
  const house = await startHouse(config, false);
  const { shutdown, state, pool, services, persister, sweeper } = house;
  try {
    const n = config.workers;
    const part: Config = Object.freeze({
      ...config,
      queueRate: share(config.queueRate, n),
      queueBurst: share(config.queueBurst, n),
      queueCapacity: share(config.queueCapacity, n),
      // The primary persists and sweeps; the workers serve.
      persister: false,
    });
    const instance = instanceId();
    const workers = new WorkerSupervisor(
      () => ({ port: house.port, config: part, redisTarget: services.redisTarget, mysql: services.mysqlTarget, instance }),
      () => services.health(),
    );
    shutdown.add('workers', () => workers.close(config.queueTimeoutMs + config.redisTimeoutMs + 5_000));
    const port = await workers.start(n);
    shutdown.add('log', () => log.info('shutting down'));
    log.info(
      { host: config.host, port, workers: n, events: [...state.catalog.all()].map((e) => e.id), warmedFromMysql: house.warmed },
      'listening',
    );
    return { port, redis: state.redis, pool, catalog: state.catalog, persister, sweeper, close: closer(shutdown) };
  } catch (err) {
    await shutdown.close();
    throw err;
  }
}
