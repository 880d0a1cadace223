import type { Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import { Admission } from './admission/admission';
import { Blocklist } from './admission/blocklist';
import { Consumer } from './admission/consumer';
import { ParkQueue } from './admission/queue';
import { UserThrottle } from './admission/user-throttle';
import { createAdminCheck, createUserVerifier } from './auth/jwt';
import { corsOriginList, type Config } from './config';
import { Catalog } from './events/catalog';
import { EventStore } from './events/event-store';
import { registerAdminRoutes } from './http/admin-routes';
import { registerBuyRoute } from './http/buy-route';
import { withCors } from './http/cors';
import { registerEventRoute } from './http/event-route';
import { registerMetricsRoute } from './http/metrics-route';
import { registerOrderRoute } from './http/order-route';
import { registerPayRoute } from './http/pay-route';
import { ExpirySweeper } from './orders/expiry-sweeper';
import { closeListenSocket, listen, registerFallbackRoutes } from './http/server';
import { assertNativeUws, uws } from './http/uws';
import { log } from './log';
import { AnswerCounts } from './metrics/decisions';
import { Metrics } from './metrics/metrics';
import { Outcome } from './outcome';
import { Persister, persisterName } from './orders/persister';
import { connectRedisNamed, redisSource } from './services/redis-connect';
import { startServices, type Services } from './services/start';

export interface RunningApp {
  readonly port: number;
  readonly redis: Redis;
  readonly pool: Pool | undefined;
  readonly catalog: Catalog;
  readonly queue: ParkQueue;
  readonly consumer: Consumer;
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

export async function startApp(config: Config): Promise<RunningApp> {
  assertNativeUws();
  log.level = config.logLevel;
  if (config.jwtSecret === '' && config.jwtPublicKey === '') {
    throw new Error('set SECKILL_JWT_SECRET (HS256) or SECKILL_JWT_PUBLIC_KEY (RS256/ES256/EdDSA) to verify buyer tokens');
  }
  // Read before anything starts: a missing file is a configuration error.
  const blocklist = config.blocklist === '' ? undefined : new Blocklist(config.blocklist);
  const services: Services = await startServices(config).catch((err: unknown) => {
    blocklist?.close();
    throw err;
  });
  try {
    const { pool } = services;
    if (pool === undefined) log.warn('MYSQL_URL=none: orders stay in Redis only, nothing is persisted');
    const store = pool === undefined ? undefined : new EventStore(pool);
    const redis = await connectRedisNamed(services.redisTarget, redisSource(config.redisUrl), config.redisTimeoutMs);
    const catalog = new Catalog(redis, store);
    const warmed = await catalog.warmFromStore(Date.now());
    await catalog.refresh();
    catalog.startRefreshing(config.eventRefreshMs);

    let persister: Persister | undefined;
    let persisterRedis: Redis | undefined;
    if (pool !== undefined && config.persister) {
      persisterRedis = await connectRedisNamed(services.redisTarget, redisSource(config.redisUrl), Math.max(config.redisTimeoutMs, 5_000), 'seckill-persister');
      persister = new Persister(persisterRedis, pool, () => catalog.all(), {
        batch: config.persistBatch,
        waitMs: config.persistWaitMs,
        claimIdleMs: config.persistClaimMs,
        consumer: persisterName(config.dataDir, 'server'),
      });
      persister.start();
    }

    const queue = new ParkQueue(config.queueCapacity);
    const refused = new AnswerCounts();
    const metrics = new Metrics({ refused, queue, catalog, redis, persister });
    const consumer = new Consumer(queue, redis, {
      rate: config.queueRate,
      burst: config.queueBurst,
      batchSize: config.batchSize,
      sweepMs: Math.max(2, Math.min(50, Math.floor(config.queueTimeoutMs / 20))),
      onBatch: metrics.observeBatch,
      onLost: (event) => void catalog.restore(event.id),
    });
    const throttle = config.userRate === 0 ? undefined : new UserThrottle(config.userRate);
    const admission = new Admission(catalog, queue, consumer, config.queueTimeoutMs, refused, { throttle, blocklist });
    const verifyUser = createUserVerifier(config.jwtSecret, config.jwtPublicKey, config.jwtCacheSize);
    const isAdmin = createAdminCheck(config.adminToken);
    const isMetricsReader = createAdminCheck(config.metricsToken);

    const app = withCors(uws.App(), corsOriginList(config.corsOrigins));
    registerBuyRoute(app, admission, verifyUser, refused);
    registerOrderRoute(app, { catalog, redis, store, verifyUser });
    const isPayer = createAdminCheck(config.paymentToken);
    registerPayRoute(app, { catalog, redis, isPayer: (a) => isPayer(a) || isAdmin(a) });
    // Unpaid orders past their deadline go back on sale, traffic or not.
    const sweeper = new ExpirySweeper(redis, () => catalog.all(), (id, remaining, expired) => catalog.unitsReturned(id, remaining, expired));
    sweeper.start();
    registerEventRoute(app, catalog);
    registerAdminRoutes(app, { catalog, redis, queue, isAdmin });
    registerMetricsRoute(app, metrics, (a) => isMetricsReader(a) || isAdmin(a));
    registerFallbackRoutes(app, {
      health: async (): Promise<Record<string, unknown>> => {
        const ok = (p: Promise<unknown>): Promise<boolean> => p.then(() => true, () => false);
        const [r, m] = await Promise.all([ok(redis.ping()), pool === undefined ? undefined : ok(pool.query('SELECT 1'))]);
        return { redis: r, ...(m === undefined ? {} : { mysql: m }), services: services.health() };
      },
      // Listening starts only after warm-up, so here: not stopping, and Redis there to decide.
      ready: () => ({ accepting: !admission.closing, redis: consumer.redisReady }),
    });
    const { socket, port } = await listen(app, config.host, config.port);
    log.info({ host: config.host, port, events: [...catalog.all()].map((e) => e.id), warmedFromMysql: warmed }, 'listening');

    let closed: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closed ??= (async () => {
        log.info({ waiting: queue.size, parked: queue.live }, 'shutting down');
        closeListenSocket(socket);
        admission.closing = true;
        await withTimeout(consumer.idle(), config.queueTimeoutMs + config.redisTimeoutMs + 1_000);
        consumer.flush(Outcome.Unavailable);
        consumer.close();
        await sweeper.stop();
        await catalog.close();
        blocklist?.close();
        const flushing = persister?.flush(10_000).then((flushed) => {
          if (!flushed) log.warn('persister flush incomplete: the rest stays in the Redis streams for the next start');
        });
        await Promise.all([flushing, admission.quiet(SHUTDOWN_QUIET_MS, SHUTDOWN_QUIET_MAX_MS)]);
        for (const r of [redis, persisterRedis]) {
          // quit() waits for a reply that a Redis that is away never sends.
          if (r?.status === 'ready') await r.quit().catch(() => r.disconnect());
          else r?.disconnect();
        }
        await services.stop();
        log.info('stopped');
      })());
    return { port, redis, pool, catalog, queue, consumer, persister, metrics, sweeper, close };
  } catch (err) {
    blocklist?.close();
    await services.stop();
    throw err;
  }
}
