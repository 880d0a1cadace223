import type { Config } from '../config';
import { log } from '../log';
import { closer, instanceId, startHouse } from './house';
import type { RunningApp } from './running';
import { WorkerSupervisor } from './workers';

/** The per-worker share of a server-wide number (the rate, the burst, the queue's bound). */
function share(total: number, workers: number): number {
  return Math.max(1, Math.ceil(total / workers));
}

/** SECKILL_WORKERS > 1: the primary, which serves no request itself. */
export async function startPrimary(config: Config): Promise<RunningApp> {
  const house = await startHouse(config, false);
  const { shutdown, state, pool, services, persister, sweeper } = house;
  try {
    const n = config.workers;
    const part: Config = Object.freeze({
      ...config,
      queueRate: share(config.queueRate, n),
      queueBurst: share(config.queueBurst, n),
      queueCapacity: share(config.queueCapacity, n),
      // The kernel spreads one address's connections over the workers: each holds it to its share (0 stays off).
      ipRate: config.ipRate === 0 ? 0 : share(config.ipRate, n),
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
