import type { Admission, EventLookup } from '../admission/admission';
import type { ChallengeDesk } from '../auth/altcha';
import type { VerifyUser } from '../auth/jwt';
import { logRepeated } from '../log-repeat';
import { Outcome } from '../outcome';
import { formatOf, writeMethodNotAllowed, writeOutcome, Format } from './codec';
import type { Routes } from './routes';

export interface ChallengeDeps {
  readonly catalog: EventLookup;
  readonly admission: Admission;
  readonly verifyUser: VerifyUser;
  /** Makes challenges with the secrets (SECKILL_POW_SECRET, else derived from SECKILL_JWT_SECRET); absent: none can be made. */
  readonly challenges: ChallengeDesk | undefined;
}

/**
 * GET /events/{event}/challenge: an ALTCHA challenge (PoW v2, as
 * altcha-lib's createChallenge returns it: `{"parameters":{…},"signature":…}`,
 * what an ALTCHA widget fetches from its challenge URL), bound to the
 * caller and the event, expiring at the event's end. Authenticated like a
 * buy, and held to the blocklist and SECKILL_USER_RATE like one: each
 * challenge costs the server one key derivation at the event's cost, made
 * a few at a time (ChallengeDesk: 429 code 5 while the same user's previous
 * one is under way, or the line is full).
 * 404 code 9 for an event that asks for no proof of work.
 */
export function registerChallengeRoute(routes: Routes, deps: ChallengeDeps): void {
  routes.get('/events/:event/challenge', (x, req) => {
    const format = formatOf(req.getHeader('accept'));
    const user = deps.verifyUser(req.getHeader('authorization'), x);
    const eventId = req.getParameter(0);
    if (user === undefined) return writeOutcome(x, Outcome.Unauthorized, 0, format);
    const event = deps.catalog.get(eventId);
    if (event === undefined) return writeOutcome(x, Outcome.UnknownEvent, 0, format);
    const refused = deps.admission.userGate(user, Date.now());
    if (refused !== undefined) return writeOutcome(x, refused, 0, format);
    const pow = event.pow;
    if (pow === undefined) {
      return x.head(404, 'application/json').end(JSON.stringify({ c: Outcome.BadRequest, error: 'this event asks for no proof of work: buy without a challenge' }));
    }
    const challenges = deps.challenges;
    if (challenges === undefined) {
      return x.head(503, 'application/json').end(JSON.stringify({ c: Outcome.Unavailable, error: 'no SECKILL_POW_SECRET (or SECKILL_JWT_SECRET) to sign challenges with' }));
    }
    const made = challenges.make(pow, event.id, user, event.end, () => !x.aborted);
    // This user's previous challenge is still being made, or too many are waiting: 429, retry.
    if (made === undefined) return writeOutcome(x, Outcome.Busy, 0, format);
    x.onAbort();
    made.then(
      (challenge) => {
        if (challenge !== undefined) x.later(() => x.head(200, 'application/json').header('Cache-Control', 'no-store').end(JSON.stringify(challenge)));
      },
      (err: unknown) => {
        logRepeated('warn', { err: (err as Error).message, event: event.id }, 'challenge failed');
        x.later(() => writeOutcome(x, Outcome.Unavailable, 0, Format.Json));
      },
    );
  });
  routes.any('/events/:event/challenge', (x, req) => writeMethodNotAllowed(x, 'GET', formatOf(req.getHeader('accept'))));
}
