import type { Admission } from '../admission/admission';
import type { AddressKey } from '../admission/address-key';
import { Channel, Stage, type AnswerCounts } from '../events/answer-counts';
import type { VerifyUser } from '../auth/jwt';
import { contentLength } from './body';
import { parseBuyQuery } from './buy-query';
import { formatOf, type Format, writeMethodNotAllowed, writeTooLarge } from './codec';
import type { Exchange } from './exchange';
import { clientAddress } from './client-address';
import { Outcome } from '../outcome';
import { HttpReply } from './reply';
import type { Routes } from './routes';

/** A buy needs no body; one over this is refused with 413. */
export const MAX_BUY_BODY = 1024;

/**
 * POST /events/{event}/buy (`?q=2&sku=red` on an event sold in lots). Everything needed is copied from the request
 * before anything else happens (uWS frees it when the handler returns). A
 * small body is ignored unread; only a chunked one has to be read to learn
 * its size, and the buy is decided once it has been. With `addressKey`
 * (SECKILL_IP_RATE on) the client's address is worked out here too, from
 * the peer and X-Forwarded-For; off, neither is read. The solved ALTCHA
 * challenge (`x-altcha`) is read only once some event asks for proof of work.
 */
export function registerBuyRoute(routes: Routes, admission: Admission, verifyUser: VerifyUser, refused: AnswerCounts, addressKey?: AddressKey): void {
  const tooLarge = (x: Exchange, format: Format): void => {
    refused.count(Channel.Http, Stage.Http, Outcome.BadRequest);
    writeTooLarge(x, format);
  };
  routes.post('/events/:event/buy', (x, req) => {
    const format = formatOf(req.getHeader('accept'));
    const authorization = req.getHeader('authorization');
    const eventId = req.getParameter(0);
    const length = req.getHeader('content-length');
    const address = addressKey === undefined ? undefined : clientAddress(addressKey, x, req);
    // `?q=2&sku=red` (an event sold in lots); a plain buy has no query and reads nothing more.
    const query = req.getQuery();
    const ask = query ? parseBuyQuery(query) : undefined;
    const solution = admission.wantsProof ? req.getHeader('x-altcha') : undefined;
    if (length !== '') {
      if (!(contentLength(length) <= MAX_BUY_BODY)) return tooLarge(x, format);
    } else if (req.getHeader('transfer-encoding') !== '') {
      return x.readBody(MAX_BUY_BODY, (body) =>
        x.later(() => {
          if (body === undefined) tooLarge(x, format);
          else admission.buy(new HttpReply(x, format), eventId, verifyUser(authorization, x), address, solution, ask?.q, ask?.sku);
        }),
      );
    }
    admission.buy(new HttpReply(x, format), eventId, verifyUser(authorization, x), address, solution, ask?.q, ask?.sku);
  });
  routes.any('/events/:event/buy', (x, req) => {
    refused.count(Channel.Http, Stage.Http, Outcome.BadRequest);
    writeMethodNotAllowed(x, 'POST', formatOf(req.getHeader('accept')));
  });
}
