import { adminRefusal } from './admin-refusal';
import type { Asset } from '../dashboard/assets';
import type { DashboardFeed } from '../dashboard/feed';
import { firstSoldOut, readHistory, sampleRow, sampleStep, sampleWindow } from '../dashboard/history';
import type { Catalog } from '../events/catalog';
import { logRepeated } from '../log-repeat';
import type { RedisClient } from '../redis/scripts';
import { describeFailure, failedDependency } from '../services/failed-dependency';
import { openStream } from './dashboard-stream';
import { Outcome, OUTCOMES } from '../outcome';
import { writeJson, writeMethodNotAllowed, Format } from './codec';
import type { Exchange } from './exchange';
import type { Routes } from './routes';

/**
 * The page may load its own script, style and stream and nothing else: no
 * inline script, no other origin, no framing. Its data arrives only through
 * the authenticated stream, so the page itself is served to anyone.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function writeAsset(x: Exchange, asset: Asset): void {
  x.head(200, asset.type)
    .header('Cache-Control', 'no-cache')
    .header('Content-Security-Policy', CSP)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .end(asset.body);
}

export interface DashboardDeps {
  readonly assets: ReadonlyMap<string, Asset>;
  readonly feed: DashboardFeed;
  readonly isAdmin: (authorization: string) => boolean;
  readonly catalog: Catalog;
  readonly redis: RedisClient;
}

const OUTCOME_NAMES = OUTCOMES.map((o) => o.name);

/**
 * GET /admin/ (the page and its two files), GET /admin/stream (the live
 * snapshots as Server-Sent Events, behind the admin token like the admin
 * API: the page reads it with fetch(), which can send the header), and
 * GET /admin/events/{e}/history (a sale's samples, for its charts).
 */
export function registerDashboardRoutes(routes: Routes, deps: DashboardDeps): void {
  const page = (name: string): Asset => {
    const a = deps.assets.get(name);
    if (a === undefined) throw new Error(`dashboard asset ${name} missing`);
    return a;
  };
  const files: [string, Asset][] = [
    ['/admin/', page('index.html')],
    ['/admin/dashboard.css', page('dashboard.css')],
    ['/admin/dashboard.js', page('dashboard.js')],
  ];
  // /admin/ itself: the page's relative URLs (dashboard.js, stream, events/…) need the slash; `/` and a bare
  // /admin are redirected here (redirect-routes.ts).
  for (const [route, asset] of files) {
    routes.get(route, (x) => writeAsset(x, asset));
    routes.any(route, (x) => writeMethodNotAllowed(x, 'GET', Format.Json));
  }

  routes.get('/admin/stream', (x, req) => {
    const authorization = req.getHeader('authorization');
    if (!deps.isAdmin(authorization)) return writeJson(x, 401, { c: Outcome.Unauthorized, error: adminRefusal(authorization) });
    if (!openStream(x, deps.feed)) {
      writeJson(x, 503, { c: Outcome.Unavailable, error: 'too many dashboard streams, or the server is stopping' });
    }
  });
  routes.any('/admin/stream', (x) => writeMethodNotAllowed(x, 'GET', Format.Json));

  routes.get('/admin/events/:event/history', (x, req) => {
    const authorization = req.getHeader('authorization');
    const id = req.getParameter(0);
    if (!deps.isAdmin(authorization)) return writeJson(x, 401, { c: Outcome.Unauthorized, error: adminRefusal(authorization) });
    const event = deps.catalog.get(id);
    if (event === undefined) return writeJson(x, 404, { c: Outcome.UnknownEvent, error: 'no such event' });
    x.onAbort();
    readHistory(deps.redis, event).then(
      (samples) => {
        const { from, to } = sampleWindow(event);
        x.later(() =>
          writeJson(x, 200, {
            event: event.id,
            step: sampleStep(event),
            from,
            to,
            outcomes: OUTCOME_NAMES,
            soldOutAt: firstSoldOut(samples, event),
            samples: samples.map(sampleRow),
          }),
        );
      },
      (err: unknown) => {
        logRepeated('warn', { dependency: failedDependency(err), err }, 'dashboard history read failed');
        x.later(() => writeJson(x, 503, { c: Outcome.Unavailable, error: describeFailure(err) }));
      },
    );
  });
  routes.any('/admin/events/:event/history', (x) => writeMethodNotAllowed(x, 'GET', Format.Json));
}
