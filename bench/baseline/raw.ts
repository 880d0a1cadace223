import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { uws } from '../../src/http/uws';

/** The ceilings' answer: a fixed body one tick later, corked, unless the client left. */
export function answerNextTick(res: HttpResponse, body: string): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  setImmediate(() => {
    if (!aborted) res.cork(() => res.end(body));
  });
}

/** Listens on HOST:PORT (default 127.0.0.1:0) and prints "listening <port>", as the bench expects. */
export function listenPrinting(app: TemplatedApp): void {
  app.listen(process.env.HOST ?? '127.0.0.1', Number(process.env.PORT ?? 0), (socket) => {
    if (socket === false) process.exit(1);
    process.stdout.write(`listening ${uws.us_socket_local_port(socket)}\n`);
  });
}

// The bench stops a ceiling with SIGTERM: exit normally, so `node --cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
