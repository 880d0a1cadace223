import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { log } from '../log';
import { Outcome } from '../outcome';
import { readBody } from './body';
import { writeJson } from './codec';

/** Bodies forwarded to the primary (admin PUT is the largest: 16 KiB). */
const MAX_FORWARDED_BODY = 64 * 1024;
/** Headers of the primary's answer that the worker's own connection writes itself. */
const HOP_BY_HOP = new Set(['content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding']);

/**
 * In a worker process, every route but the buy route is the primary's: the
 * admin API, /metrics, the probes, the order query and the public event
 * route answer for the whole process (counters summed over the workers,
 * whichever worker the request lands on). They are forwarded to the
 * primary's loopback listener and its answer is written back as it is.
 * None of them is on the buy path.
 */
export function registerProxyRoute(app: TemplatedApp, target: string): void {
  app.any('/*', (res, req) => {
    const method = req.getCaseSensitiveMethod();
    const query = req.getQuery();
    const url = target + req.getUrl() + (query ? `?${query}` : '');
    const headers: [string, string][] = [];
    req.forEach((k, v) => {
      if (k !== 'host' && k !== 'connection' && k !== 'content-length') headers.push([k, v]);
    });
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const upstream = new AbortController();
    res.onAborted(() => upstream.abort());
    const forward = (body: Buffer | undefined): void => {
      fetch(url, { method, headers, body: body === undefined || body.length === 0 ? undefined : body, redirect: 'manual', signal: upstream.signal })
        .then(async (r) => {
          if (r.headers.get('content-type')?.startsWith('text/event-stream') === true && r.body !== null) {
            return stream(res, r, r.body, () => aborted);
          }
          const data = Buffer.from(await r.arrayBuffer());
          if (!aborted) res.cork(() => writeForwarded(res, r, data, method === 'HEAD'));
        })
        .catch((err: unknown) => {
          if (aborted) return;
          log.warn({ err: (err as Error).message, url }, 'forwarding to the primary failed');
          if (!aborted) res.cork(() => writeJson(res, 503, { c: Outcome.Unavailable, error: 'server restarting: retry' }));
        });
    };
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return forward(undefined);
    readBody(res, MAX_FORWARDED_BODY, (body) => {
      if (aborted) return;
      if (body === undefined) res.cork(() => writeJson(res, 413, { c: Outcome.BadRequest, error: 'body too large' }));
      else forward(body);
    });
  });
}

/** Writes a stream's head and then each chunk as it comes (the dashboard's Server-Sent Events). */
async function stream(res: HttpResponse, r: Response, body: ReadableStream<Uint8Array>, aborted: () => boolean): Promise<void> {
  if (aborted()) return;
  res.cork(() => {
    if (r.status !== 200) res.writeStatus(`${r.status} `);
    r.headers.forEach((value, name) => {
      if (!HOP_BY_HOP.has(name)) res.writeHeader(name, value);
    });
  });
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (aborted()) return;
    if (done) {
      res.cork(() => res.end());
      return;
    }
    res.cork(() => res.write(value));
  }
}

function writeForwarded(res: HttpResponse, r: Response, body: Buffer, head: boolean): void {
  if (r.status !== 200) res.writeStatus(`${r.status} `);
  let length = '0';
  r.headers.forEach((value, name) => {
    if (name === 'content-length') length = value;
    else if (!HOP_BY_HOP.has(name)) res.writeHeader(name, value);
  });
  if (head) {
    // endWithoutBody(n) with n > 0 leaves the response open in this uWS build: give the length as a header.
    res.writeHeader('Content-Length', length).endWithoutBody();
  } else {
    res.end(body);
  }
}
