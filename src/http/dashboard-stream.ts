import type { Exchange } from './exchange';
import type { DashboardFeed } from '../dashboard/feed';

/** Snapshots a slow client may miss in a row before its stream is closed (10 s at two a second). */
const MAX_SKIPPED = 20;

/**
 * Turns an answer into a Server-Sent Events stream fed by the dashboard
 * feed. Call from inside the request handler. Returns false, with nothing
 * written, when the feed is full or closed.
 *
 * A client that does not read (its socket buffer full) is not queued for:
 * frames are dropped until uWS says it is writable again (each frame is a
 * whole snapshot, so nothing is lost but time), and after MAX_SKIPPED
 * dropped frames the connection is closed.
 */
export function openStream(x: Exchange, feed: DashboardFeed): boolean {
  if (!feed.accepting) return false;
  // HEAD: the stream's head, and nothing to subscribe.
  if (x.headOnly) {
    streamHead(x).endWithoutBody();
    return true;
  }
  let done = false;
  let choked = false;
  let skipped = 0;
  let unsubscribe: (() => void) | undefined;
  const finish = (): void => {
    done = true;
    unsubscribe?.();
  };
  x.onAbort(finish);
  writeStreamHead(x);
  const subscribed = feed.subscribe({
    send(frame) {
      if (done) return;
      if (choked) {
        if (++skipped > MAX_SKIPPED) {
          finish();
          x.close();
        }
        return;
      }
      x.later(() => {
        if (!x.write(frame)) {
          choked = true;
          x.onWritable(() => {
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
      x.later(() => x.end());
    },
  });
  // accepting was checked above, in the same synchronous step.
  if (subscribed !== false) unsubscribe = subscribed;
  return true;
}

function streamHead(x: Exchange): Exchange {
  return (
    x
      .head(200, 'text/event-stream; charset=utf-8')
      .header('Cache-Control', 'no-store')
      .header('X-Content-Type-Options', 'nosniff')
      // Proxies (nginx) buffer responses by default, which would hold the ticks back.
      .header('X-Accel-Buffering', 'no')
  );
}

function writeStreamHead(x: Exchange): void {
  streamHead(x);
  // A first comment line sends the headers now, so the page knows it is connected.
  x.write(': seckill dashboard stream\n\n');
}
