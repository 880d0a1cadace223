import { defaultWorkers, type Config } from './config';
import { startPrimary } from './server/primary';
import type { RunningApp } from './server/running';
import { startSingle } from './server/single';

export type { RunningApp, SingleApp } from './server/running';
export { startSingle } from './server/single';

/**
 * Starts a server. With SECKILL_WORKERS=1 this process is the whole server
 * (src/server/single.ts); with more, it is the primary (src/server/primary.ts):
 * it owns the port and data folder locks, the local redis-server and
 * mariadbd, the persister and the expiry sweeper, and supervises the
 * workers, each a complete front (src/server/worker.ts).
 */
export function startApp(config: Config): Promise<RunningApp> {
  const workers = defaultWorkers(config);
  const chosen = Object.freeze({ ...config, workers });
  return workers > 1 ? startPrimary(chosen) : startSingle(chosen);
}
