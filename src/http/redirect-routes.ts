import { writeMethodNotAllowed, Format } from './codec';
import type { Exchange } from './exchange';
import type { Routes } from './routes';

/** The dashboard page; its relative URLs (dashboard.js, stream) need the slash. */
export const DASHBOARD_PATH = '/admin/';

/** 302 to the dashboard. The browser keeps a fragment (`/admin#token=…`) across it (RFC 9110 §10.2.2). */
function toDashboard(x: Exchange): void {
  x.head(302).header('Location', DASHBOARD_PATH).end();
}

/**
 * Where a person typing the server's address lands: `GET /` and `GET /admin`
 * lead to the dashboard at `/admin/` (HEAD too, as on every GET route). 302,
 * not 301: a browser does not keep it for ever, should `/` serve something
 * else one day.
 */
export function registerRedirects(routes: Routes): void {
  routes.get('/', toDashboard);
  routes.get('/admin', toDashboard);
  routes.any('/', (x) => writeMethodNotAllowed(x, 'GET', Format.Json));
  routes.any('/admin', (x) => writeMethodNotAllowed(x, 'GET', Format.Json));
}
