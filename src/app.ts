import type { Pool } from 'mysql2/promise';
import { Admission } from './admission/admission';
import { Blocklist } from './admission/blocklist';
import { Consumer } from './admission/consumer';
import { Ledger } from './admission/ledger';
import type { Ticket } from './admission/ticket';
import type { SaleEvent } from './events/sale-event';
import type { Parked } from './admission/parked';
import { ParkQueue } from './admission/queue';
import { UserThrottle } from './admission/user-throttle';
import { createAdminCheck, createUserVerifier } from './auth/jwt';
import { corsOriginList, type Config } from './config';
import { Catalog } from './events/catalog';
import { EventStore } from './events/event-store';
import { CHANGED, EventNews, SOLD_OUT } from './events/news';
import { registerAdminRoutes } from './http/admin-routes';
import { registerBuyRoute } from './http/buy-route';
import { registerWsRoute } from './ws/ws-route';
import type { SalePushes } from './ws/pushes';
import { withCors } from './http/cors';
import { registerEventRoute } from './http/event-route';
import { loadAssets } from './dashboard/assets';
import { DashboardFeed } from './dashboard/feed';
import { registerDashboardRoutes } from './http/dashboard-routes';
import { registerMetricsRoute } from './http/metrics-route';
import { registerOrderRoute } from './http/order-route';
import { registerPayRoute } from './http/pay-route';
import { ExpirySweeper } from './orders/expiry-sweeper';
import { closeListenSocket, listen, registerFallbackRoutes } from './http/server';
import { assertNativeUws, uws } from './http/uws';
import { log } from './log';
import { AnswerCounts } from './metrics/decisions';
import { Metrics, type MetricsSources, type QueueView } from './metrics/metrics';
import { Outcome } from './outcome';
import { Persister, persisterName } from './orders/persister';
import { connectConfiguredRedis } from './services/redis-connect';
import { Dependencies } from './services/dependencies';
import type { RedisClient } from './redis/scripts';
import { takePortLock } from './services/port-lock';
import { startServices, type Services } from './services/start';
import type { TemplatedApp } from 'uWebSockets.js';
import { freePort, RemoteTicket, WorkerPool } from './workers/pool';
import { TicketRing } from './admission/ticket-ring';

export interface RunningApp {
  readonly port: number;
  /** One Redis, or a Redis Cluster (REDIS_CLUSTER_NODES). */
  readonly redis: RedisClient;
  readonly pool: Pool | undefined;
  readonly catalog: Catalog;
  /** Waiting, parked and followers: this process's, or (workers) the primary's line and the workers' parked total. */
  readonly queue: QueueView & { readonly followers: number };
  readonly consumer: { idle(): Promise<void> };
  readonly persister: Persister | undefined;
  readonly metrics: Metrics;
  readonly sweeper: ExpirySweeper;
  /** Graceful: stop listening, decide or answer every parked request, flush the persister, close Redis and MySQL, stop local services. */
  close(): Promise<void>;
}

/**
 * At shutdown, keep-alive clients are answered with `Connection: close`;
 * the process stays until they have been quiet this long (at most the max),
 * so no request already on its way into a kept-alive socket is reset.
 */
const SHUTDOWN_QUIET_MS = 250;
const SHUTDOWN_QUIET_MAX_MS = 3_000;

async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/**
 * Shutdown's consumer step, for either front: let it decide what it holds
 * (bounded by a request's deadline, alongside `meanwhile`), answer what is
 * left 10, stop it.
 */
async function drain<T extends Ticket>(consumer: Consumer<T>, config: Config, meanwhile: Promise<unknown> = Promise.resolve()): Promise<void> {
  await Promise.all([meanwhile, withTimeout(consumer.idle(), config.queueTimeoutMs + config.redisTimeoutMs + 1_000)]);
  consumer.flush(Outcome.Unavailable);
  consumer.close();
}

/** The parts every process mode shares, for the front that serves buys. */
interface Core {
  readonly config: Config;
  readonly redis: RedisClient;
  readonly catalog: Catalog;
  readonly store: EventStore | undefined;
  readonly metricsOf: (queue: QueueView, refresh?: () => Promise<void>, hopMessages?: MetricsSources['hopMessages']) => Metrics;
  readonly refused: AnswerCounts;
  readonly routes: (app: TemplatedApp, queue: QueueView, metrics: Metrics, ready: () => Record<string, boolean>, refresh?: () => Promise<void>) => void;
  readonly consumerOptions: (metrics: Metrics) => ConstructorParameters<typeof Consumer>[3];
}

/** How buys are served: in this process, or by worker processes feeding this one's consumer. */
interface Front {
  readonly port: number;
  readonly queue: RunningApp['queue'];
  readonly consumer: RunningApp['consumer'];
  readonly metrics: Metrics;
  /** Stops taking buys and answers every one it holds. */
  close(): Promise<void>;
}

/** SECKILL_WORKERS=1: this process serves HTTP and decides, as one event loop. */
async function startSingleFront(core: Core, blocklist: Blocklist | undefined): Promise<Front> {
  const { config, redis, catalog, refused } = core;
  const queue = new ParkQueue(config.queueCapacity);
  const metrics = core.metricsOf(queue);
  const ledger = new Ledger(queue);
  const options = core.consumerOptions(metrics);
  let pushes: SalePushes | undefined;
  const consumer = new Consumer<Parked>(queue, ledger, redis, {
    ...options,
    onSoldOut: (event) => {
      options.onSoldOut?.(event);
      pushes?.check(event);
    },
  });
  const throttle = config.userRate === 0 ? undefined : new UserThrottle(config.userRate);
  const admission = new Admission(catalog, ledger, consumer, config.queueTimeoutMs, refused, { throttle, blocklist });
  const verifyUser = createUserVerifier(config.jwtSecret, config.jwtPublicKey, config.jwtCacheSize);
  const app = withCors(uws.App(), corsOriginList(config.corsOrigins));
  registerBuyRoute(app, admission, verifyUser, refused);
  const ws = registerWsRoute(app, { admission, events: catalog, verifyUser, refused, inflight: config.wsInflight, roomForMore: () => !ledger.full });
  pushes = ws.pushes;
  const watch = (event: SaleEvent): void => ws.pushes.check(event);
  catalog.watchers.add(watch);
  // Listening starts only after warm-up, so here: not stopping, and Redis there to decide.
  core.routes(app, queue, metrics, () => ({ accepting: !admission.closing, redis: consumer.redisReady }));
  const { socket, port } = await listen(app, config.host, config.port);
  return {
    port,
    queue,
    consumer,
    metrics,
    async close() {
      closeListenSocket(socket);
      admission.closing = true;
      await drain(consumer, config);
      await admission.quiet(SHUTDOWN_QUIET_MS, SHUTDOWN_QUIET_MAX_MS);
      catalog.watchers.delete(watch);
      ws.close();
    },
  };
}

/**
 * SECKILL_WORKERS > 1: worker processes serve HTTP on the shared port and
 * send what could still win here, to the one consumer (one token bucket, one
 * Redis connection, batches across workers). This process serves every
 * other route on a loopback port the workers forward to, so /admin/*,
 * /metrics and the probes answer for the whole process.
 */
async function startWorkerFront(core: Core, publicPort: number): Promise<Front> {
  const { config, redis, catalog, refused } = core;
  const line = new TicketRing<RemoteTicket>(config.queueCapacity);
  let workers: WorkerPool | undefined;
  const refresh = (): Promise<void> => workers?.collect() ?? Promise.resolve();
  const queue = {
    get size() {
      return line.size;
    },
    get live() {
      return workers?.parked ?? 0;
    },
    followers: 0,
    capacity: config.queueCapacity,
  };
  const metrics = core.metricsOf(queue, refresh, () => workers?.messages ?? { toPrimary: 0, toWorkers: 0 });
  let closing = false;
  const internal = withCors(uws.App(), corsOriginList(config.corsOrigins));
  core.routes(internal, queue, metrics, () => ({ accepting: !closing && (workers?.ready ?? 0) > 0, redis: consumer.redisReady }), refresh);
  const inner = await listen(internal, '127.0.0.1', 0);
  const pool = new WorkerPool({
    config,
    internal: `http://127.0.0.1:${inner.port}`,
    events: () => catalog.all(),
    event: (id) => catalog.get(id),
    enqueue: (t) => {
      if (line.full) return false;
      consumer.enqueue(t);
      return true;
    },
    redisReady: () => consumer.redisReady,
    refused,
  });
  const options = core.consumerOptions(metrics);
  const consumer: Consumer<RemoteTicket> = new Consumer(line, pool, redis, {
    ...options,
    onSoldOut: (event) => {
      options.onSoldOut?.(event);
      pool.broadcast([event]);
    },
  });
  catalog.watchers.add((event) => pool.broadcast([event]));
  catalog.onExpired = (event, expired) => pool.expired(event, expired);
  workers = pool;
  const port = await pool.start(config.workers, publicPort);
  return {
    port,
    queue,
    consumer,
    metrics,
    async close() {
      closing = true;
      // The workers answer what they hold while the consumer decides it.
      await drain(consumer, config, pool.close(config.queueTimeoutMs + config.redisTimeoutMs + SHUTDOWN_QUIET_MAX_MS + 2_000));
      closeListenSocket(inner.socket);
    },
  };
}

export async function startApp(config: Config): Promise<RunningApp> {
  assertNativeUws();
  log.level = config.logLevel;
  if (config.jwtSecret === '' && config.jwtPublicKey === '') {
    throw new Error('set SECKILL_JWT_SECRET (HS256) or SECKILL_JWT_PUBLIC_KEY (RS256/ES256/EdDSA) to verify buyer tokens');
  }
  // Read before anything starts: a missing file is a configuration error.
  const blocklist = config.blocklist === '' ? undefined : new Blocklist(config.blocklist);
  // Worker processes share one given port (SO_REUSEPORT is set only on a given port): for PORT=0, pick a free one now.
  const port = config.workers > 1 && config.port === 0 ? await freePort(config.host) : config.port;
  // One seckill process per port (services/port-lock.ts): taken before any service starts, so a second server fails at once, naming the first.
  const portLock = port === 0 ? undefined : await takePortLock(port).catch((err: unknown) => {
    blocklist?.close();
    throw err;
  });
  const services: Services = await startServices(config).catch((err: unknown) => {
    blocklist?.close();
    portLock?.release();
    throw err;
  });
  try {
    const { pool } = services;
    if (pool === undefined) log.warn('MYSQL_URL=none: orders stay in Redis only, nothing is persisted');
    const store = pool === undefined ? undefined : new EventStore(pool);
    const redis = await connectConfiguredRedis(config, services.redisTarget, config.redisTimeoutMs);
    const catalog = new Catalog(redis, store);
    // Sale news between instances (sold out, changed): sharded pub/sub on each event's channel.
    const subscriber = await connectConfiguredRedis(config, services.redisTarget, config.redisTimeoutMs, 'seckill-news', true);
    const news = new EventNews(redis, subscriber, catalog);
    await news.start(config.redisTimeoutMs * 4);
    catalog.watchers.add((event) => news.follow(event));
    catalog.announce = (event) => news.announce(event, CHANGED);
    const warmed = await catalog.warmFromStore(Date.now());
    await catalog.refresh();
    catalog.startRefreshing(config.eventRefreshMs);

    let persister: Persister | undefined;
    let persisterRedis: RedisClient | undefined;
    if (pool !== undefined && config.persister) {
      persisterRedis = await connectConfiguredRedis(config, services.redisTarget, Math.max(config.redisTimeoutMs, 5_000), 'seckill-persister');
      persister = new Persister(persisterRedis, pool, () => catalog.all(), {
        batch: config.persistBatch,
        waitMs: config.persistWaitMs,
        gatherMs: config.persistGatherMs,
        claimIdleMs: config.persistClaimMs,
        consumer: persisterName(config.dataDir, 'server'),
      });
      persister.start();
    }

    const refused = new AnswerCounts();
    const isAdmin = createAdminCheck(config.adminToken);
    const isMetricsReader = createAdminCheck(config.metricsToken);
    const isPayer = createAdminCheck(config.paymentToken);
    /** Closed first at shutdown (the dashboard streams). */
    const closers: (() => void)[] = [];
    // Redis and MySQL checked in the background: the probes read what was found, never wait on I/O.
    const dependencies = new Dependencies(redis, pool, config.redisTimeoutMs);
    await dependencies.start();
    closers.push(() => dependencies.close());
    // Unpaid orders past their deadline go back on sale, traffic or not (one sweeper per process; the script decides).
    const sweeper = new ExpirySweeper(redis, () => catalog.all(), (id, remaining, expired) => catalog.unitsReturned(id, remaining, expired));
    sweeper.start();
    const verifyUser = createUserVerifier(config.jwtSecret, config.jwtPublicKey, config.jwtCacheSize);
    const core: Core = {
      config,
      redis,
      catalog,
      store,
      refused,
      metricsOf: (queue, refresh, hopMessages) => new Metrics({ refused, queue, catalog, redis, persister, refresh, hopMessages }),
      consumerOptions: (metrics) => ({
        rate: config.queueRate,
        burst: config.queueBurst,
        batchSize: config.batchSize,
        sweepMs: Math.max(2, Math.min(50, Math.floor(config.queueTimeoutMs / 20))),
        onBatch: metrics.observeBatch,
        onLost: (event: SaleEvent) => void catalog.restore(event.id),
        onSoldOut: (event: SaleEvent) => news.announce(event, SOLD_OUT),
      }),
      routes: (app, queue, metrics, ready, refresh) => {
        registerOrderRoute(app, { catalog, redis, store, verifyUser });
        registerPayRoute(app, { catalog, redis, isPayer: (a) => isPayer(a) || isAdmin(a) });
        registerEventRoute(app, catalog);
        registerAdminRoutes(app, { catalog, redis, queue, isAdmin, refresh });
        registerMetricsRoute(app, metrics, (a) => isMetricsReader(a) || isAdmin(a));
        const dashboard = new DashboardFeed({ catalog, queue, redis, registry: metrics.registry, refresh });
        closers.push(() => dashboard.close());
        registerDashboardRoutes(app, { assets: loadAssets(), feed: dashboard, isAdmin });
        registerFallbackRoutes(app, {
          health: () => ({ ...dependencies.health(), services: services.health() }),
          ready: () => dependencies.ready(ready()),
        });
      },
    };
    const front = config.workers > 1 ? await startWorkerFront(core, port) : await startSingleFront(core, blocklist);
    const { queue, consumer, metrics } = front;
    log.info(
      { host: config.host, port: front.port, workers: config.workers, events: [...catalog.all()].map((e) => e.id), warmedFromMysql: warmed },
      'listening',
    );

    let closed: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closed ??= (async () => {
        log.info({ waiting: queue.size, parked: queue.live }, 'shutting down');
        for (const c of closers) c();
        const flushing = front.close().then(async () => {
          await sweeper.stop();
          await catalog.close();
          blocklist?.close();
        });
        await flushing;
        news.close();
        const flushed = await persister?.flush(10_000);
        if (flushed === false) log.warn('persister flush incomplete: the rest stays in the Redis streams for the next start');
        for (const r of [redis, persisterRedis]) {
          // quit() waits for a reply that a Redis that is away never sends.
          if (r?.status === 'ready') await r.quit().catch(() => r.disconnect());
          else r?.disconnect();
        }
        await services.stop();
        portLock?.release();
        log.info('stopped');
      })());
    return { port: front.port, redis, pool, catalog, queue, consumer, persister, metrics, sweeper, close };
  } catch (err) {
    blocklist?.close();
    await services.stop();
    portLock?.release();
    throw err;
  }
}
