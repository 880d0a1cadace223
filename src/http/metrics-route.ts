import type { Metrics } from '../metrics/metrics';
import { Outcome } from '../outcome';
import { logRepeated } from '../log-repeat';
import { writeJson, writeMethodNotAllowed, Format } from './codec';
import type { Routes } from './routes';

/**
 * GET /metrics: Prometheus text, behind a bearer token (SECKILL_METRICS_TOKEN,
 * or the admin token), never public: the counts tell a bot how a sale goes.
 * A token rather than a second listener, so one port serves the container.
 */
export function registerMetricsRoute(routes: Routes, metrics: Metrics, mayRead: (authorization: string) => boolean): void {
  routes.get('/metrics', (x, req) => {
    const authorization = req.getHeader('authorization');
    if (!mayRead(authorization)) return writeJson(x, 401, { c: Outcome.Unauthorized, error: 'metrics or admin token required' });
    x.onAbort();
    metrics.text().then(
      (text) => {
        x.later(() => x.head(200, metrics.contentType).end(text));
      },
      (err: unknown) => {
        logRepeated('warn', { err }, 'metrics failed');
        x.later(() => writeJson(x, 500, { error: 'metrics failed' }));
      },
    );
  });
  routes.any('/metrics', (x) => writeMethodNotAllowed(x, 'GET', Format.Json));
}
