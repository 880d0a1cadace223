import type { Redis } from 'ioredis';
import { Admission } from './admission/admission';
import { Consumer } from './admission/consumer';
import { ParkQueue } from './admission/queue';
import { createAdminCheck, createUserVerifier } from './auth/jwt';
import type { Config } from './config';
import { Catalog } from './events/catalog';
import { registerAdminRoutes } from './http/admin-routes';
import { registerBuyRoute } from './http/buy-route';
import { closeListenSocket, listen, registerFallbackRoutes } from './http/server';
import { assertNativeUws, uws } from './http/uws';
import { log } from './log';
import { Outcome } from './outcome';
import { connectRedis } from './redis/client';
import type { LocalService } from './services/local-service';
import { startLocalRedis } from './services/redis-server';

export interface RunningApp {
  readonly port: number;
  readonly redis: Redis;
  readonly catalog: Catalog;
  readonly queue: ParkQueue;
  readonly consumer: Consumer;
  /** Graceful: stop listening, decide or answer every parked request, close Redis, stop local services. */
  close(): Promise<void>;
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

export async function startApp(config: Config): Promise<RunningApp> {
  assertNativeUws();
  if (config.jwtSecret === '' && config.jwtPublicKey === '') {
    throw new Error('set SECKILL_JWT_SECRET (HS256) or SECKILL_JWT_PUBLIC_KEY (RS256/ES256/EdDSA) to verify buyer tokens');
  }
  const services: LocalService[] = [];
  const stopServices = async (): Promise<void> => {
    for (const s of services.reverse()) await s.stop();
  };
  try {
    let redisTarget = config.redisUrl;
    if (redisTarget === '') {
      const local = await startLocalRedis(config.dataDir);
      services.push(local);
      redisTarget = local.socket;
      log.info('local redis-server ready', { socket: local.socket, pid: local.pid });
    }
    const redis = await connectRedis(redisTarget, config.redisTimeoutMs);
    const catalog = new Catalog(redis);
    await catalog.refresh();
    catalog.startRefreshing(config.eventRefreshMs);

    const queue = new ParkQueue(config.queueCapacity);
    const consumer = new Consumer(queue, redis, {
      rate: config.queueRate,
      burst: config.queueBurst,
      batchSize: config.batchSize,
      sweepMs: Math.max(2, Math.min(50, Math.floor(config.queueTimeoutMs / 20))),
    });
    const admission = new Admission(catalog, queue, consumer, config.queueTimeoutMs);

    const app = uws.App();
    registerBuyRoute(app, admission, createUserVerifier(config.jwtSecret, config.jwtPublicKey, config.jwtCacheSize));
    registerAdminRoutes(app, { catalog, redis, queue, isAdmin: createAdminCheck(config.adminToken) });
    registerFallbackRoutes(app, async () => ({
      redis: await redis.ping().then(
        () => true,
        () => false,
      ),
    }));
    const { socket, port } = await listen(app, config.host, config.port);
    log.info('listening', { host: config.host, port, events: [...catalog.all()].map((e) => e.id) });

    let closed: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closed ??= (async () => {
        log.info('shutting down', { waiting: queue.size, parked: queue.live });
        closeListenSocket(socket);
        admission.closing = true;
        await withTimeout(consumer.idle(), config.queueTimeoutMs + config.redisTimeoutMs + 1_000);
        consumer.flush(Outcome.Unavailable);
        consumer.close();
        catalog.close();
        await redis.quit().catch(() => redis.disconnect());
        await stopServices();
        log.info('stopped');
      })());
    return { port, redis, catalog, queue, consumer, close };
  } catch (err) {
    await stopServices();
    throw err;
  }
}
