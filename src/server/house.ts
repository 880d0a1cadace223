import os from 'node:os';
import { Blocklist } from '../admission/blocklist';
import type { Config } from '../config';
import { EventStore } from '../events/event-store';
import { assertNativeUws } from '../http/uws';
import { log } from '../log';
import { ExpirySweeper } from '../orders/expiry-sweeper';
import { Persister, persisterName } from '../orders/persister';
import { takePortLock } from '../services/port-lock';
import { connectConfiguredRedis } from '../services/redis-connect';
import { startServices } from '../services/start';
import { closeRedis, startSaleState } from './sale-state';
import { Shutdown } from './shutdown';
import { freePort } from './workers';

/** What both kinds of server set up first: the locks, the services, the sale state, the singletons. */
export async function startHouse(config: Config, withWinners: boolean) {
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
export function instanceId(): string {
  return `${os.hostname()}:${process.pid}`;
}

/** The server's close(): the ordered stop, then one line. */
export function closer(shutdown: Shutdown): () => Promise<void> {
  return () =>
    shutdown.close().then(() => {
      log.info('stopped');
    });
}
