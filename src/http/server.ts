import type { HttpResponse, us_listen_socket, TemplatedApp } from 'uWebSockets.js';
import { formatOf, writeJson, writeMethodNotAllowed, writeNoRoute, Format } from './codec';
import { uws } from './uws';

/** Binds the app; resolves with the listen socket and the port it got (port 0 = any free one). */
export function listen(app: TemplatedApp, host: string, port: number): Promise<{ socket: us_listen_socket; port: number }> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket) => {
      if (socket === false) reject(new Error(`cannot listen on ${host}:${port} (in use? set PORT)`));
      else resolve({ socket, port: uws.us_socket_local_port(socket) });
    });
  });
}

export function closeListenSocket(socket: us_listen_socket): void {
  uws.us_listen_socket_close(socket);
}

export interface Probes {
  /** Liveness: each dependency reachable. */
  readonly health: () => Promise<Record<string, boolean>>;
  /** Readiness: accepting buys. */
  readonly ready: () => Record<string, boolean>;
}

function answerChecks(res: HttpResponse, checks: Record<string, boolean>): void {
  const ok = Object.values(checks).every(Boolean);
  writeJson(res, ok ? 200 : 503, { ok, ...checks });
}

/**
 * GET /healthz answers 200 when every dependency answers, else 503; GET
 * /readyz answers 200 while the server accepts buys (warmed up, not
 * stopping, Redis connected), else 503. Any path
 * no route knows gets 404 with code 9. Registered last: uWS prefers specific
 * routes over wildcards whatever the order, but it reads more plainly so.
 */
export function registerFallbackRoutes(app: TemplatedApp, probes: Probes): void {
  app.get('/healthz', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void probes.health().then((checks) => {
      if (!aborted) res.cork(() => answerChecks(res, checks));
    });
  });
  app.get('/readyz', (res) => answerChecks(res, probes.ready()));
  app.any('/healthz', (res) => writeMethodNotAllowed(res, 'GET', Format.Json));
  app.any('/readyz', (res) => writeMethodNotAllowed(res, 'GET', Format.Json));
  app.any('/*', (res, req) => writeNoRoute(res, formatOf(req.getHeader('accept'))));
}
