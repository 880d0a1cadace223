import type { HttpResponse } from 'uWebSockets.js';
import type { DashboardFeed } from './feed';

/** Snapshots a slow client may miss in a row before its stream is closed (10 s at two a second). */
const MAX_SKIPPED = 20;

/**
 * Turns a uWS response into a Server-Sent Events stream fed by the
 * dashboard feed. Call from inside the request handler, with the caller's
 * onAborted already registered; `aborted` tells whether it fired. Returns
 * false, with nothing written, when the feed is full or closed.
 *
 * A client that does not read (its socket buffer full) is not queued for:
 * frames are dropped until uWS says it is writable again (each frame is a
 * whole snapshot, so nothing is lost but time), and after MAX_SKIPPED
 * dropped frames the connection is closed.
 */
export function openStream(res: HttpResponse, feed: DashboardFeed, onAbort: (handler: () => void) => void): boolean {
  if (!feed.accepting) return false;
  let done = false;
  let choked = false;
  let skipped = 0;
  let unsubscribe: (() => void) | undefined;
  const finish = (): void => {
    done = true;
    unsubscribe?.();
  };
  onAbort(finish);
  writeStreamHead(res);
  const subscribed = feed.subscribe({
    send(frame) {
      if (done) return;
      if (choked) {
        if (++skipped > MAX_SKIPPED) {
          finish();
          res.close();
        }
        return;
      }
      res.cork(() => {
        if (!res.write(frame)) {
          choked = true;
          res.onWritable(() => {
            choked = false;
            skipped = 0;
            return true;
          });
        }
      });
    },
    end() {
      if (done) return;
      done = true;
      res.cork(() => res.end());
    },
  });
  // accepting was checked above, in the same synchronous step.
  if (subscribed !== false) unsubscribe = subscribed;
  return true;
}

function writeStreamHead(res: HttpResponse): void {
  res
    .writeHeader('Content-Type', 'text/event-stream; charset=utf-8')
    .writeHeader('Cache-Control', 'no-store')
    .writeHeader('X-Content-Type-Options', 'nosniff')
    // Proxies (nginx) buffer responses by default, which would hold the ticks back.
    .writeHeader('X-Accel-Buffering', 'no')
    // A first comment line sends the headers now, so the page knows it is connected.
    .write(': seckill dashboard stream\n\n');
}
