import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { Asset } from '../dashboard/assets';
import type { DashboardFeed } from '../dashboard/feed';
import { openStream } from '../dashboard/stream';
import { Outcome } from '../outcome';
import { writeJson, writeMethodNotAllowed, Format } from './codec';

/**
 * The page may load its own script, style and stream and nothing else: no
 * inline script, no other origin, no framing. Its data arrives only through
 * the authenticated stream, so the page itself is served to anyone.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function writeAsset(res: HttpResponse, asset: Asset): void {
  res
    .writeHeader('Content-Type', asset.type)
    .writeHeader('Cache-Control', 'no-cache')
    .writeHeader('Content-Security-Policy', CSP)
    .writeHeader('X-Content-Type-Options', 'nosniff')
    .writeHeader('Referrer-Policy', 'no-referrer')
    .end(asset.body);
}

export interface DashboardDeps {
  readonly assets: ReadonlyMap<string, Asset>;
  readonly feed: DashboardFeed;
  readonly isAdmin: (authorization: string) => boolean;
}

/**
 * GET /admin/ (the page and its two files) and GET /admin/stream (the live
 * snapshots as Server-Sent Events, behind the admin token like the admin
 * API: the page reads it with fetch(), which can send the header).
 */
export function registerDashboardRoutes(app: TemplatedApp, deps: DashboardDeps): void {
  const page = (name: string): Asset => {
    const a = deps.assets.get(name);
    if (a === undefined) throw new Error(`dashboard asset ${name} missing`);
    return a;
  };
  const routes: [string, Asset][] = [
    ['/admin/', page('index.html')],
    ['/admin/dashboard.css', page('dashboard.css')],
    ['/admin/dashboard.js', page('dashboard.js')],
  ];
  // Only /admin/ itself: the page's relative URLs (dashboard.js, stream, events/…) need the slash, and a
  // bare /admin stays an unknown path (404, code 9) rather than a redirect, like every other 4xx probe.
  for (const [route, asset] of routes) {
    app.get(route, (res) => writeAsset(res, asset));
    app.any(route, (res) => writeMethodNotAllowed(res, 'GET', Format.Json));
  }

  app.get('/admin/stream', (res, req) => {
    const authorization = req.getHeader('authorization');
    let abort: (() => void) | undefined;
    res.onAborted(() => abort?.());
    if (!deps.isAdmin(authorization)) return writeJson(res, 401, { c: Outcome.Unauthorized, error: 'admin token required' });
    if (!openStream(res, deps.feed, (handler) => (abort = handler))) {
      writeJson(res, 503, { c: Outcome.Unavailable, error: 'too many dashboard streams, or the server is stopping' });
    }
  });
  app.any('/admin/stream', (res) => writeMethodNotAllowed(res, 'GET', Format.Json));
}
