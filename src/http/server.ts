import type { us_listen_socket, TemplatedApp } from 'uWebSockets.js';
import { formatOf, writeJson, writeMethodNotAllowed, writeNoRoute, Format } from './codec';
import type { Exchange } from './exchange';
import type { Routes } from './routes';
import { uws } from './uws';

/** uWS's LIBUS_LISTEN_EXCLUSIVE_PORT: listen without SO_REUSEPORT (the typings lack the host + options overload). */
const LISTEN_EXCLUSIVE_PORT = 1;
type ListenWithOptions = (host: string, port: number, options: number, cb: (socket: us_listen_socket | false) => void) => TemplatedApp;

/**
 * Binds the app; resolves with the listen socket and the port it got (port
 * 0 = any free one). `exclusive` (one listener per process): no
 * SO_REUSEPORT, so a port some other process listens on, or listens on
 * later, fails with "address in use" instead of being silently shared.
 * Worker processes sharing one port pass false and rely on the primary's
 * port lock (src/services/port-lock.ts).
 */
export function listen(app: TemplatedApp, host: string, port: number, exclusive = true): Promise<{ socket: us_listen_socket; port: number }> {
  return new Promise((resolve, reject) => {
    const done = (socket: us_listen_socket | false): void => {
      if (socket === false) reject(new Error(`address in use: cannot listen on ${host}:${port} (another process has it, or the address is not on this machine: set PORT or HOST)`));
      else resolve({ socket, port: uws.us_socket_local_port(socket) });
    };
    if (exclusive) (app.listen as unknown as ListenWithOptions).call(app, host, port, LISTEN_EXCLUSIVE_PORT, done);
    else app.listen(host, port, done);
  });
}

export function closeListenSocket(socket: us_listen_socket): void {
  uws.us_listen_socket_close(socket);
}

export interface Probes {
  /**
   * Liveness details: each dependency reachable, each local service up
   * (informational: liveness is 200 while we answer). Synchronous: read from
   * what background checks found (services/dependencies.ts), never from I/O
   * done for this request, so a hung dependency cannot hang the probe.
   */
  readonly health: () => Record<string, unknown>;
  /** Readiness: accepting buys; every value true → 200, else 503. */
  readonly ready: () => Record<string, boolean>;
}

function readiness(x: Exchange, probes: Probes): void {
  const checks = probes.ready();
  const ok = Object.values(checks).every(Boolean);
  writeJson(x, ok ? 200 : 503, { ok, ...checks });
}

function liveness(x: Exchange, probes: Probes): void {
  writeJson(x, 200, { ok: true, ...probes.health() });
}

/**
 * GET (or HEAD) /healthz is liveness: 200 at once for as long as the
 * process answers, whatever Redis, MySQL or the local services do (its body
 * says how they are, as last checked), so an orchestrator never restarts a
 * server that is still selling because MySQL is away or hung. GET (or HEAD)
 * /readyz is readiness: 200 while buys can be decided (warmed up, not
 * stopping, Redis connected and answering), else 503. Any path no route knows gets 404 with code 9. Registered last:
 * uWS prefers specific routes over wildcards whatever the order, but it
 * reads more plainly so.
 */
export function registerFallbackRoutes(routes: Routes, probes: Probes): void {
  // `get` answers HEAD too (routes.ts): the same status and headers, no body.
  routes
    .get('/healthz', (x) => liveness(x, probes))
    .get('/readyz', (x) => readiness(x, probes))
    .any('/healthz', (x) => writeMethodNotAllowed(x, 'GET, HEAD', Format.Json))
    .any('/readyz', (x) => writeMethodNotAllowed(x, 'GET, HEAD', Format.Json))
    .any('/*', (x, req) => writeNoRoute(x, formatOf(req.getHeader('accept'))));
}
