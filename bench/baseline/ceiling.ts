/**
 * The ceiling: a raw uWS server that parks each POST for one tick and then
 * answers a fixed tiny body, corked. No auth, no state: the most this stack
 * can do with an asynchronous answer. Env: HOST, PORT. Prints "listening <port>".
 */
import { assertNativeUws, uws } from '../../src/http/uws';
import { answerNextTick, listenPrinting } from './raw';

assertNativeUws();
const BODY = '{"c":1}';
listenPrinting(uws.App().post('/events/:event/buy', (res) => answerNextTick(res, BODY)));
