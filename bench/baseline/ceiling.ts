/**
 * The ceiling: a raw uWS server that parks each POST for one tick and then
 * answers a fixed tiny body, corked. No auth, no state: the most this stack
 * can do with an asynchronous answer. Env: HOST, PORT. Prints "listening <port>".
 */
import { assertNativeUws, uws } from '../../src/http/uws';

assertNativeUws();
const BODY = '{"c":1}';
uws
  .App()
  .post('/events/:event/buy', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    setImmediate(() => {
      if (!aborted) res.cork(() => res.end(BODY));
    });
  })
  .listen(process.env.HOST ?? '127.0.0.1', Number(process.env.PORT ?? 0), (socket) => {
    if (socket === false) process.exit(1);
    process.stdout.write(`listening ${uws.us_socket_local_port(socket)}\n`);
  });
