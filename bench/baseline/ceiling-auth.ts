/**
 * The ceiling for an authenticated request: the raw uWS ceiling plus the
 * same token check as seckill (src/auth/jwt.ts: the HS256 fast path and the
 * token cache at its default budget). Parks each POST one tick and answers a
 * fixed tiny body, corked; 401 without a valid token. Env: HOST, PORT,
 * SECKILL_JWT_SECRET. Prints "listening <port>".
 */
import { createUserVerifier } from '../../src/auth/jwt';
import { DEFAULT_CONFIG } from '../../src/config';
import { assertNativeUws, uws } from '../../src/http/uws';
import { answerNextTick, listenPrinting } from './raw';

assertNativeUws();
const verify = createUserVerifier(process.env.SECKILL_JWT_SECRET ?? '', '', DEFAULT_CONFIG.jwtCacheSize);
const BODY = '{"c":1}';
listenPrinting(
  uws.App().post('/events/:event/buy', (res, req) => {
    const user = verify(req.getHeader('authorization'));
    if (user === undefined) {
      res.writeStatus('401').end('{"c":8}');
      return;
    }
    answerNextTick(res, BODY);
  }),
);
