import type { Pool } from 'mysql2/promise';
import { Admission } from '../admission/admission';
import { addressKey } from '../admission/address-key';
import type { Blocklist } from '../admission/blocklist';
import { Consumer } from '../admission/consumer';
import { Ledger } from '../admission/ledger';
import type { Parked } from '../admission/parked';
import { ParkQueue } from '../admission/queue';
import { Throttle } from '../admission/throttle';
import { ChallengeDesk, powKeys, PowVerifier } from '../auth/altcha';
import { createAdminCheck, createUserVerifier } from '../auth/jwt';
import { corsOriginList, trustedProxyList, type Config } from '../config';
import { loadAssets } from '../dashboard/assets';
import { DashboardFeed } from '../dashboard/feed';
import { HistorySampler } from '../dashboard/history';
import type { EventStore } from '../events/event-store';
import { SOLD_OUT } from '../events/news';
import type { SaleEvent } from '../events/sale-event';
import { registerAdminRoutes } from '../http/admin-routes';
import { registerBuyRoute } from '../http/buy-route';
import { registerChallengeRoute } from '../http/challenge-route';
import { Routes } from '../http/routes';
import { registerDashboardRoutes } from '../http/dashboard-routes';
import { registerEventRoute } from '../http/event-route';
import { registerMetricsRoute } from '../http/metrics-route';
import { registerOrderRoute } from '../http/order-route';
import { registerPayRoute } from '../http/pay-route';
import { registerRedirects } from '../http/redirect-routes';
import { closeListenSocket, listen, registerFallbackRoutes } from '../http/server';
import { uws } from '../http/uws';
import { AnswerCounts } from '../events/answer-counts';
import { FleetCounts } from '../metrics/fleet-counts';
import { Metrics } from '../metrics/metrics';
import type { Persister } from '../orders/persister';
import { Outcome } from '../outcome';
import type { ServiceHealth } from '../services/local-service';
import { Dependencies } from '../services/dependencies';
import { registerWsRoute } from '../ws/ws-route';
import type { SaleState } from './sale-state';
import type { Shutdown } from './shutdown';

/**
 * At shutdown, keep-alive clients are answered with `Connection: close`
 * on every route; the front stays until no request has come for this long (at most the max),
 * so no request already on its way into a kept-alive socket is reset.
 */
const SHUTDOWN_QUIET_MS = 250;
const SHUTDOWN_QUIET_MAX_MS = 3_000;

/** What a front needs besides the sale state. */
export interface FrontOptions {
  /** This process's share of the settings (a worker's rate and capacity are its part of the server's). */
  readonly config: Config;
  /** The port to listen on; 0: any. */
  readonly port: number;
  /** One listener on the port (a single process), or SO_REUSEPORT with the other workers. */
  readonly exclusive: boolean;
  /** `<instance>/<process>`, as the fleet counts name it. */
  readonly processId: string;
  readonly pool: Pool | undefined;
  readonly store: EventStore | undefined;
  readonly blocklist: Blocklist | undefined;
  /** This process's persister, when it runs one (its counters go to /metrics). */
  readonly persister?: Persister;
  /** The local services the server supervises (the primary's, relayed to a worker). */
  readonly services: () => Record<string, ServiceHealth>;
  /** Workers restarted since the server started (worker processes only). */
  readonly workerRestarts?: () => number;
}

export interface Front {
  readonly port: number;
  readonly queue: ParkQueue;
  readonly consumer: Consumer<Parked>;
  readonly metrics: Metrics;
  readonly fleet: FleetCounts;
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/**
 * One complete front, as a single process or each worker runs it: the uWS
 * listener with every route, the token check, the prefilter, a bounded park
 * queue drained by this process's one consumer on its own Redis connection.
 * Nothing on the buy path leaves the process but the one script call per
 * batch. Its steps are added to `shutdown`: stop listening, decide or answer
 * every parked request, let keep-alive clients go quiet, publish the final
 * counts.
 */
export async function startFront(state: SaleState, o: FrontOptions, shutdown: Shutdown): Promise<Front> {
  const { config } = o;
  const { redis, catalog, news } = state;
  const refused = new AnswerCounts();
  const queue = new ParkQueue(config.queueCapacity);
  const fleet = new FleetCounts(redis, o.processId, { events: () => catalog.all(), refused, queue });
  fleet.start();
  shutdown.add('answer counts', () => fleet.close());
  const processesOf = (event: SaleEvent | undefined): ReturnType<FleetCounts['processes']> => fleet.processes(event);
  // /metrics: the answers of this server's processes; with Redis away, this process's own (never a drop to 0).
  const thisInstance = async (): Promise<AnswerCounts[]> => {
    const ours = (rows: Awaited<ReturnType<FleetCounts['processes']>>): AnswerCounts =>
      FleetCounts.sum(rows.filter((r) => r.id.startsWith(fleet.instance + '/')));
    const sources: [SaleEvent | undefined, AnswerCounts][] = [[undefined, refused], ...[...catalog.all()].map((e): [SaleEvent, AnswerCounts] => [e, e.answers])];
    return Promise.all(sources.map(([e, own]) => processesOf(e).then(ours, () => own)));
  };
  const metrics = new Metrics({ refused, queue, catalog, redis, persister: o.persister, answers: thisInstance, workerRestarts: o.workerRestarts });
  const ledger = new Ledger(queue);
  let pushes: { check(event: SaleEvent): void } | undefined;
  const consumer = new Consumer<Parked>(queue, ledger, redis, {
    rate: config.queueRate,
    burst: config.queueBurst,
    batchSize: config.batchSize,
    sweepMs: Math.max(2, Math.min(50, Math.floor(config.queueTimeoutMs / 20))),
    onBatch: metrics.observeBatch,
    onLost: (event) => void catalog.restore(event.id),
    onSoldOut: (event) => {
      news.announce(event, SOLD_OUT);
      pushes?.check(event);
    },
    onStale: (event) => void catalog.load(event.id).catch(() => undefined),
    onDrawn: (event) => catalog.drawDecided(event),
  });
  const throttle = config.userRate === 0 ? undefined : new Throttle(config.userRate);
  // SECKILL_IP_RATE off: no address is read or worked out on any request.
  const addresses = config.ipRate === 0 ? undefined : new Throttle(config.ipRate);
  const keyOfAddress = addresses === undefined ? undefined : addressKey(trustedProxyList(config.trustedProxies));
  // Proof of work: the same secrets in every process and instance, so each accepts the others' challenges.
  const keys = powKeys(config.powSecret, config.jwtSecret);
  const proofs = keys === undefined ? undefined : new PowVerifier(keys);
  const admission = new Admission(catalog, ledger, consumer, config.queueTimeoutMs, refused, { throttle, addresses, blocklist: o.blocklist, proofs });
  const verifyUser = createUserVerifier(config.jwtSecret, config.jwtPublicKey, config.jwtCacheSize);
  const isAdmin = createAdminCheck(config.adminToken);
  const isMetricsReader = createAdminCheck(config.metricsToken);
  const isPayer = createAdminCheck(config.paymentToken);

  const routes = new Routes(uws.App(), corsOriginList(config.corsOrigins));
  const { app } = routes;
  registerBuyRoute(routes, admission, verifyUser, refused, keyOfAddress);
  registerChallengeRoute(routes, { catalog, admission, verifyUser, challenges: keys === undefined ? undefined : new ChallengeDesk(keys) });
  const ws = registerWsRoute(routes, {
    admission,
    events: catalog,
    verifyUser,
    refused,
    inflight: config.wsInflight,
    roomForMore: () => !ledger.full,
    addressKey: keyOfAddress,
  });
  pushes = ws.pushes;
  // A unit came free or the event changed: the requests standing by are decided again; pushes follow the change.
  ledger.onFreed = (event) => admission.review(event);
  ledger.onSoldOut = (event) => ws.pushes.check(event);
  const watch = (event: SaleEvent): void => {
    // Paused: the leaders waiting for tokens are answered now (the standbys by the review).
    if (event.paused) consumer.answerWaiting(event, Outcome.Paused);
    admission.review(event);
    ws.pushes.check(event);
  };
  catalog.watchers.add(watch);
  registerOrderRoute(routes, { catalog, redis, store: o.store, verifyUser });
  registerPayRoute(routes, { catalog, redis, isPayer: (a) => isPayer(a) || isAdmin(a) });
  registerEventRoute(routes, { catalog, redis, store: o.store });
  registerAdminRoutes(routes, { catalog, redis, queue, isAdmin, processes: processesOf, canSignChallenges: keys !== undefined });
  registerMetricsRoute(routes, metrics, (a) => isMetricsReader(a) || isAdmin(a));
  // The sale's history for the dashboard: sampled once a second, watched or not, into Redis.
  const history = new HistorySampler(redis, () => catalog.all());
  history.start();
  shutdown.add('dashboard history', () => history.close());
  const dashboard = new DashboardFeed({
    catalog,
    queue,
    redis,
    registry: metrics.registry,
    processes: processesOf,
    workerRestarts: o.workerRestarts,
    history,
    persisting: o.pool !== undefined,
  });
  registerDashboardRoutes(routes, { assets: loadAssets(), feed: dashboard, isAdmin, catalog, redis });
  registerRedirects(routes);
  // Redis and MySQL checked in the background: the probes read what was found, never wait on I/O.
  const dependencies = new Dependencies(redis, o.pool, config.redisTimeoutMs);
  await dependencies.start();
  shutdown.add('dependency checks', () => dependencies.close());
  registerFallbackRoutes(routes, {
    health: () => ({
      ...dependencies.health(),
      services: o.services(),
      ...(o.workerRestarts === undefined ? {} : { workers: { restarts: o.workerRestarts() } }),
    }),
    // Listening starts only after warm-up, so here: not stopping, and Redis there to decide.
    ready: () => dependencies.ready({ accepting: !admission.closing, redis: consumer.redisReady }),
  });
  const { socket, port } = await listen(app, config.host, o.port, o.exclusive);

  shutdown.add('front', async () => {
    closeListenSocket(socket);
    routes.drain();
    dashboard.close();
    admission.closing = true;
    // Let the consumer decide what it holds (bounded by a request's deadline), answer what is left 10, stop it.
    for (const event of ledger.standing()) admission.review(event);
    await withTimeout(consumer.idle(), config.queueTimeoutMs + config.redisTimeoutMs + 1_000);
    consumer.flush(Outcome.Unavailable);
    consumer.close();
    await routes.quiet(SHUTDOWN_QUIET_MS, SHUTDOWN_QUIET_MAX_MS);
    catalog.watchers.delete(watch);
    ws.close();
  });
  return { port, queue, consumer, metrics, fleet };
}
