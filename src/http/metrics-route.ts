import type { TemplatedApp } from 'uWebSockets.js';
import type { Metrics } from '../metrics/metrics';
import { Outcome } from '../outcome';
import { logRepeated } from '../log-repeat';
import { writeJson, writeMethodNotAllowed, Format } from './codec';

/**
 * GET /metrics: Prometheus text, behind a bearer token (SECKILL_METRICS_TOKEN,
 * or the admin token), never public: the counts tell a bot how a sale goes.
 * A token rather than a second listener, so one port serves the container.
 */
export function registerMetricsRoute(app: TemplatedApp, metrics: Metrics, mayRead: (authorization: string) => boolean): void {
  app.get('/metrics', (res, req) => {
    const authorization = req.getHeader('authorization');
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    if (!mayRead(authorization)) return writeJson(res, 401, { c: Outcome.Unauthorized, error: 'metrics or admin token required' });
    metrics.text().then(
      (text) => {
        if (!aborted) res.cork(() => res.writeHeader('Content-Type', metrics.contentType).end(text));
      },
      (err: unknown) => {
        logRepeated('warn', { err }, 'metrics failed');
        if (!aborted) res.cork(() => writeJson(res, 500, { error: 'metrics failed' }));
      },
    );
  });
  app.any('/metrics', (res) => writeMethodNotAllowed(res, 'GET', Format.Json));
}
