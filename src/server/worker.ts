import { Blocklist } from '../admission/blocklist';
import { EventStore } from '../events/event-store';
import { assertNativeUws } from '../http/uws';
import { exitOnUncaught, firstLine, log, setLogFormat } from '../log';
import { workerProcessId } from '../metrics/fleet-counts';
import { openMysqlPool } from '../orders/mysql';
import { startFront } from './front';
import { unexpected, type ToPrimary, type ToWorker, type WorkerStart } from './messages';
import { startSaleState } from './sale-state';
import { Shutdown } from './shutdown';

function send(m: ToPrimary): void {
  // The primary is gone (killed): this worker must not keep the port.
  if (process.send === undefined || !process.connected) process.exit(1);
  process.send(m);
}

/**
 * A worker process: a complete front of its own (src/server/front.ts) on the
 * shared port, with its own Redis and MySQL connections, catalog, sale news,
 * queue and consumer. The primary only starts it, restarts it if it dies, and
 * tells it when to stop. It reads every event and its winners before it
 * listens, so its first answer from memory is already true.
 */
async function main(): Promise<void> {
  const start = JSON.parse(process.env.SECKILL_WORKER ?? '') as WorkerStart;
  const { config } = start;
  assertNativeUws();
  log.level = config.logLevel;
  setLogFormat(config.logFormat);
  log.setBindings({ worker: start.index });
  // Signals go to the primary (a terminal's Ctrl-C reaches the whole group); it tells us to close.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);

  const shutdown = new Shutdown();
  let restarts = start.restarts;
  let services = start.services;
  const stop = (code: number): void => {
    void shutdown.close().finally(() => process.exit(code));
  };
  process.on('disconnect', () => stop(1));
  process.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'close':
        stop(0);
        break;
      case 'restarts':
        restarts = m.count;
        break;
      case 'services':
        services = m.health;
        break;
      case 'ping':
        send({ t: 'pong' });
        break;
      default:
        unexpected(m);
    }
  });

  const blocklist = config.blocklist === '' ? undefined : new Blocklist(config.blocklist);
  if (blocklist !== undefined) shutdown.add('blocklist', () => blocklist.close());
  // The primary has set the database up; MySQL is not on the buy path, so a worker starts (or restarts) while it is away.
  const pool = start.mysql === undefined ? undefined : openMysqlPool(start.mysql, config.mysqlTimeoutMs);
  if (pool !== undefined) shutdown.add('mysql', () => pool.end().catch(() => undefined));
  const store = pool === undefined ? undefined : new EventStore(pool);
  const state = await startSaleState(config, start.redisTarget, store, shutdown);
  await state.catalog.refresh();
  state.catalog.startRefreshing(config.eventRefreshMs);
  if (shutdown.started) return;
  const front = await startFront(
    state,
    {
      config,
      port: start.port,
      exclusive: false,
      // A restarted worker gets an id of its own (`w0r3`): taking its predecessor's would overwrite the dead one's counts.
      processId: workerProcessId(start.instance, start.index, start.restarts),
      pool,
      store,
      blocklist,
      services: () => services,
      workerRestarts: () => restarts,
    },
    shutdown,
  );
  log.debug({ port: front.port }, 'worker listening');
  send({ t: 'listening', port: front.port });
}

exitOnUncaught();
main().catch((err: unknown) => {
  // The primary says why in its own last line (or in its restart line): it is told here, then this process exits.
  const message = firstLine(err);
  log.debug({ err }, `the stack of: worker failed to start: ${message}`);
  log.error(`worker failed to start: ${message}`);
  if (process.send === undefined || !process.connected) process.exit(1);
  process.send({ t: 'failed', message } satisfies ToPrimary, () => process.exit(1));
});
