import type { Config } from '../config';
import { log } from '../log';
import { startFront } from './front';
import { closer, instanceId, startHouse } from './house';
import type { SingleApp } from './running';

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
