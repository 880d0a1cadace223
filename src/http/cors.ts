import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';

/**
 * CORS for shop pages on other origins (SECKILL_CORS_ORIGINS: exact origins;
 * empty: off, and then nothing here runs). A request whose Origin is listed
 * is remembered against its response, and the codec adds
 * `Access-Control-Allow-Origin` to the answer; a preflight (OPTIONS with a
 * listed Origin) is answered here, on any path, with the methods the API has
 * and the one request header a browser must be allowed to send:
 * `authorization` (`accept` is always allowed). `Retry-After` is exposed so a
 * page can read it on 429 and 503. An Origin not listed gets no CORS header:
 * the browser then keeps the answer from the page.
 */
const allowedFor = new WeakMap<HttpResponse, string>();
let enabled = false;

const PREFLIGHT_MAX_AGE_S = '600';
const METHODS = 'GET, HEAD, POST, PUT';

/** The listed Origin this response answers, if CORS is on and the request had one. */
export function corsOrigin(res: HttpResponse): string | undefined {
  return enabled ? allowedFor.get(res) : undefined;
}

/** The CORS headers of an answer; call after writeStatus, before end. */
export function writeCorsHeaders(res: HttpResponse, exposeRetryAfter: boolean): void {
  const origin = corsOrigin(res);
  if (origin === undefined) return;
  res.writeHeader('Access-Control-Allow-Origin', origin);
  if (exposeRetryAfter) res.writeHeader('Access-Control-Expose-Headers', 'Retry-After');
}

function preflight(res: HttpResponse, origin: string): void {
  res
    .writeStatus('204 ')
    .writeHeader('Access-Control-Allow-Origin', origin)
    .writeHeader('Access-Control-Allow-Methods', METHODS)
    .writeHeader('Access-Control-Allow-Headers', 'authorization')
    .writeHeader('Access-Control-Max-Age', PREFLIGHT_MAX_AGE_S)
    .writeHeader('Vary', 'Origin')
    .endWithoutBody();
}

type Handler = (res: HttpResponse, req: HttpRequest) => void | Promise<void>;
const ROUTE_METHODS = ['get', 'post', 'put', 'del', 'patch', 'head', 'options', 'any'] as const;

/**
 * The app with every route registered through it wrapped: reads Origin
 * first (uWS frees the request after the handler), then runs the route.
 * With no origins it returns the app untouched.
 */
export function withCors(app: TemplatedApp, origins: readonly string[]): TemplatedApp {
  if (origins.length === 0) return app;
  enabled = true;
  const allowed = new Set(origins);
  const wrap = (handler: Handler): Handler => (res, req) => {
    const origin = req.getHeader('origin');
    if (origin !== '' && allowed.has(origin)) {
      if (req.getMethod() === 'options' && req.getHeader('access-control-request-method') !== '') return preflight(res, origin);
      allowedFor.set(res, origin);
    }
    return handler(res, req);
  };
  for (const m of ROUTE_METHODS) {
    const register = app[m].bind(app);
    app[m] = (pattern, handler) => register(pattern, wrap(handler));
  }
  return app;
}
