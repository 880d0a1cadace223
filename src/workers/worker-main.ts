import type { us_listen_socket } from 'uWebSockets.js';
import { Admission } from '../admission/admission';
import { Blocklist } from '../admission/blocklist';
import { Ledger } from '../admission/ledger';
import { ParkQueue } from '../admission/queue';
import { UserThrottle } from '../admission/user-throttle';
import { createUserVerifier } from '../auth/jwt';
import { corsOriginList, type Config } from '../config';
import { SaleEvent } from '../events/sale-event';
import { registerBuyRoute } from '../http/buy-route';
import { registerWsRoute } from '../ws/ws-route';
import { withCors } from '../http/cors';
import { registerProxyRoute } from '../http/proxy-route';
import { closeListenSocket, listen } from '../http/server';
import { assertNativeUws, uws } from '../http/uws';
import { log, setLogFormat } from '../log';
import { AnswerCounts } from '../metrics/decisions';
import { PrimaryLink } from './primary-link';
import type { EventState, ToPrimary, ToWorker, WorkerStart } from './protocol';

/** How long a worker waits for the primary's decisions at shutdown, beyond the queue timeout. */
const CLOSE_SLACK_MS = 1_000;

function send(m: ToPrimary): void {
  // The primary is gone (killed): this worker must not keep the port.
  if (process.send === undefined || !process.connected) process.exit(1);
  process.send(m);
}

/**
 * A worker process: its own uWS app on the shared port (SO_REUSEPORT), the
 * token check, its own copy of the prefilter (window, known winners, local
 * estimate) and its parked responses. Leaders go to the primary's one
 * consumer through a PrimaryLink; every other route is forwarded to the
 * primary. The primary drives its life: it starts it, tells it to close,
 * and restarts it if it dies.
 */
async function main(): Promise<void> {
  const config = JSON.parse(process.env.SECKILL_WORKER_CONFIG ?? '') as Config;
  const start = JSON.parse(process.env.SECKILL_WORKER_START ?? '') as WorkerStart;
  assertNativeUws();
  log.level = config.logLevel;
  setLogFormat(config.logFormat);
  log.setBindings({ worker: start.index });
  // Signals go to the primary (a terminal's Ctrl-C reaches the whole group); it tells us to close.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  process.on('disconnect', () => process.exit(1));

  const events = new Map<string, SaleEvent>();
  const ledger = new Ledger(new ParkQueue(config.queueCapacity), true);
  const link = new PrimaryLink(send, ledger, events);
  const refused = new AnswerCounts();
  const blocklist = config.blocklist === '' ? undefined : new Blocklist(config.blocklist);
  const throttle = config.userRate === 0 ? undefined : new UserThrottle(config.userRate);
  const admission = new Admission(events, ledger, link, config.queueTimeoutMs, refused, { throttle, blocklist });
  const verifyUser = createUserVerifier(config.jwtSecret, config.jwtPublicKey, config.jwtCacheSize);
  const sweeper = setInterval(() => link.sweep(Date.now()), Math.max(2, Math.min(50, Math.floor(config.queueTimeoutMs / 20))));

  const app = withCors(uws.App(), corsOriginList(config.corsOrigins));
  registerBuyRoute(app, admission, verifyUser, refused);
  const ws = registerWsRoute(app, { admission, events, verifyUser, refused, inflight: config.wsInflight, roomForMore: () => !ledger.full });

  // The primary sends an event on every change, its sell-out included: this worker's connections hear of it here.
  const upsert = (e: EventState): void => {
    let event = events.get(e.id);
    if (event !== undefined) event.define(e, e.remaining);
    else events.set(e.id, (event = new SaleEvent(e.id, e, e.remaining)));
    ws.pushes.check(event);
  };
  registerProxyRoute(app, start.internal);

  // Serve buys only once the primary's events are here (else the first ones would be "unknown").
  let gotEvents: () => void = () => undefined;
  const firstEvents = new Promise<void>((r) => (gotEvents = r));

  let socket: us_listen_socket | undefined;
  let closing = false;
  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    if (socket !== undefined) closeListenSocket(socket);
    admission.closing = true;
    await Promise.race([link.idle(), new Promise((r) => setTimeout(r, config.queueTimeoutMs + config.redisTimeoutMs + CLOSE_SLACK_MS))]);
    await admission.quiet(250, 3_000);
    ws.close();
    clearInterval(sweeper);
    blocklist?.close();
    process.exit(0);
  };

  process.on('message', (m: ToWorker) => {
    if (m.t === 'decided') link.decided(m);
    else if (m.t === 'expired') {
      const e = events.get(m.event);
      if (e !== undefined) e.unitsReturned(-1, m.users.map((user, i) => ({ user, order: m.orders[i] ?? 0 })));
    } else if (m.t === 'events') {
      for (const e of m.events) upsert(e);
      gotEvents();
    }
    else if (m.t === 'stats?') {
      send({
        t: 'stats',
        seq: m.seq,
        refused: Array.from(refused.counts),
        events: [...events.values()].map((e) => [e.id, Array.from(e.answers.counts)]),
        parked: ledger.queue.live,
      });
    } else if (m.t === 'close') void close();
  });

  await firstEvents;
  if (closing) return;
  // SO_REUSEPORT with the other workers: the primary holds the process's port lock.
  const listening = await listen(app, config.host, start.port, false);
  socket = listening.socket;
  const port = listening.port;
  log.debug({ port }, 'worker listening');
  send({ t: 'listening', port });
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'worker failed to start');
  process.exit(1);
});
