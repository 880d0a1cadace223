import type { HttpRequest, TemplatedApp, us_socket_context_t, WebSocketBehavior } from 'uWebSockets.js';
import { Exchange } from './exchange';

/** A route's handler: the request (valid only until it returns: copy what you need first) and its answer. */
export type Handler = (x: Exchange, req: HttpRequest) => void;

const PREFLIGHT_MAX_AGE_S = '600';
const METHODS = 'GET, HEAD, POST, PUT';

type Method = 'get' | 'post' | 'put' | 'head' | 'any';

/** The request headers a page on a listed origin may send: a buy's token, and an admin put's JSON body (`accept` is always allowed). */
const ALLOWED_HEADERS = 'authorization, content-type';

/**
 * The app's routes, registered through here so that every handler gets an
 * Exchange (src/http/exchange.ts) and never a raw uWS response.
 *
 * CORS for shop pages on other origins (SECKILL_CORS_ORIGINS: exact origins;
 * empty: off, and then nothing of it runs): a request whose Origin is listed
 * gets an Exchange that carries it, and every answer's head then has
 * `Access-Control-Allow-Origin` (and exposes `Retry-After`, which a page
 * reads on 429 and 503). A preflight (OPTIONS with a listed Origin and
 * `Access-Control-Request-Method`) is answered here, on any path, with the
 * methods the API has and the request headers a browser must be allowed to
 * send: `authorization` and `content-type` (`accept` is always allowed). An
 * Origin not listed gets no CORS header: the browser then keeps the answer
 * from the page.
 *
 * HEAD is GET without the body (RFC 9110 §9.3.2): every `get` route answers
 * it too, through an Exchange that writes the same head and no body; any
 * other HEAD (a 404, a 405) is written without its body as well.
 */
export class Routes {
  private readonly allowed: ReadonlySet<string> | undefined;
  /** Shutting down: every answer closes its connection (see drain). */
  private draining = false;
  /** While draining: when the last request arrived (see quiet). */
  private lastSeen = 0;

  constructor(
    readonly app: TemplatedApp,
    corsOrigins: readonly string[],
  ) {
    this.allowed = corsOrigins.length === 0 ? undefined : new Set(corsOrigins);
  }

  /**
   * Shutdown: from now on every answer, on any route, closes its
   * connection (`Connection: close`), so a keep-alive client opens no new
   * request on it; an answer to a request that came before (a parked buy)
   * is closed by its writer (admission's `closing`).
   */
  drain(): void {
    this.draining = true;
    this.lastSeen = Date.now();
  }

  /**
   * Resolves once no request has arrived for `quietMs` (at most `maxMs`
   * after the call). After drain: once the keep-alive clients have been
   * told to close and have gone quiet, exiting resets no connection that
   * was about to carry a request.
   */
  async quiet(quietMs: number, maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    this.lastSeen = Math.max(this.lastSeen, Date.now());
    for (;;) {
      const wait = Math.min(deadline, this.lastSeen + quietMs) - Date.now();
      if (wait <= 0) return;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** A request arrived: its Exchange closes the connection after the answer while draining. */
  private exchange(res: ConstructorParameters<typeof Exchange>[0], origin: string | undefined, headOnly: boolean): Exchange {
    if (!this.draining) return new Exchange(res, origin, headOnly);
    this.lastSeen = Date.now();
    return new Exchange(res, origin, headOnly, true);
  }

  /** GET, and HEAD on the same handler (its Exchange writes no body). */
  get(pattern: string, handler: Handler): this {
    return this.on('get', pattern, handler).on('head', pattern, handler);
  }

  post(pattern: string, handler: Handler): this {
    return this.on('post', pattern, handler);
  }

  put(pattern: string, handler: Handler): this {
    return this.on('put', pattern, handler);
  }

  /** Any method not registered on `pattern` otherwise (uWS prefers the specific ones). */
  any(pattern: string, handler: Handler): this {
    return this.on('any', pattern, handler);
  }

  /** A WebSocket route: `upgrade` gets an Exchange (its `upgrade` accepts the connection). */
  ws<T>(
    pattern: string,
    behavior: Omit<WebSocketBehavior<T>, 'upgrade'> & { upgrade: (x: Exchange, req: HttpRequest, context: us_socket_context_t) => void },
  ): this {
    const { upgrade, ...rest } = behavior;
    this.app.ws<T>(pattern, { ...rest, upgrade: (res, req, context) => upgrade(new Exchange(res, undefined), req, context) });
    return this;
  }

  private on(method: Method, pattern: string, handler: Handler): this {
    const allowed = this.allowed;
    // HEAD, or for `any` (every method not registered otherwise) whatever the request says: a HEAD 404 or 405 gets no body either.
    const head = method === 'head' ? true : method === 'any' ? undefined : false;
    if (allowed === undefined) {
      this.app[method](pattern, (res, req) => handler(this.exchange(res, undefined, head ?? req.getMethod() === 'head'), req));
      return this;
    }
    this.app[method](pattern, (res, req) => {
      const origin = req.getHeader('origin');
      const listed = origin !== '' && allowed.has(origin) ? origin : undefined;
      const x = this.exchange(res, listed, head ?? req.getMethod() === 'head');
      if (listed !== undefined && req.getMethod() === 'options' && req.getHeader('access-control-request-method') !== '') return preflight(x);
      handler(x, req);
    });
    return this;
  }
}

function preflight(x: Exchange): void {
  x.head(204)
    .header('Access-Control-Allow-Methods', METHODS)
    .header('Access-Control-Allow-Headers', ALLOWED_HEADERS)
    .header('Access-Control-Max-Age', PREFLIGHT_MAX_AGE_S)
    .header('Vary', 'Origin')
    .endWithoutBody();
}
