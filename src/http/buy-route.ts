import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { Admission } from '../admission/admission';
import { Channel } from '../admission/reply';
import type { VerifyUser } from '../auth/jwt';
import { contentLength, readBody } from './body';
import { formatOf, type Format, writeMethodNotAllowed, writeTooLarge } from './codec';
import { Stage, type AnswerCounts } from '../metrics/decisions';
import { Outcome } from '../outcome';
import { HttpReply } from './reply';

/** A buy needs no body; one over this is refused with 413. */
export const MAX_BUY_BODY = 1024;

/**
 * POST /events/{event}/buy. Everything needed is copied from the request
 * before anything else happens (uWS frees it when the handler returns). A
 * small body is ignored unread; only a chunked one has to be read to learn
 * its size, which is the one case that registers onAborted before deciding.
 */
export function registerBuyRoute(app: TemplatedApp, admission: Admission, verifyUser: VerifyUser, refused: AnswerCounts): void {
  const tooLarge = (res: HttpResponse, format: Format): void => {
    refused.count(Channel.Http, Stage.Http, Outcome.BadRequest);
    writeTooLarge(res, format);
  };
  app.post('/events/:event/buy', (res, req) => {
    const format = formatOf(req.getHeader('accept'));
    const authorization = req.getHeader('authorization');
    const eventId = req.getParameter(0);
    const length = req.getHeader('content-length');
    if (length !== '') {
      if (!(contentLength(length) <= MAX_BUY_BODY)) return tooLarge(res, format);
    } else if (req.getHeader('transfer-encoding') !== '') {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      return readBody(res, MAX_BUY_BODY, (body) => {
        if (aborted) return;
        res.cork(() => {
          if (body === undefined) tooLarge(res, format);
          else admission.buy(new HttpReply(res, format), eventId, verifyUser(authorization));
        });
      });
    }
    admission.buy(new HttpReply(res, format), eventId, verifyUser(authorization));
  });
  app.any('/events/:event/buy', (res, req) => {
    refused.count(Channel.Http, Stage.Http, Outcome.BadRequest);
    writeMethodNotAllowed(res, 'POST', formatOf(req.getHeader('accept')));
  });
}
