import { Outcome } from '../outcome';
import type { SaleEvent } from '../events/sale-event';
import type { Ledger } from './ledger';
import { Parked, type ShutdownGate } from './parked';
import { FOLLOW, lotsCount, prefilter, QUEUE, WAIT, type Decision } from './prefilter';
import { Stage, type AnswerCounts } from '../events/answer-counts';
import type { Blocklist } from './blocklist';
import type { Throttle } from './throttle';
import type { Reply } from './reply';
import type { PowDifficulty } from '../sale';
import { log } from '../log';

/** The events a front knows (its catalog). */
export interface EventLookup {
  get(id: string): SaleEvent | undefined;
  /** Reads every buyer of a sold-out event whose winners are not all known here (Catalog.completeWinners). */
  completeWinners?(event: SaleEvent): void;
  /** Some event this process has known asks for proof of work: only then do transports read the solution. */
  readonly powInUse?: boolean;
}

/**
 * Checks the solved challenge a buy carries for an event with proof of work
 * (src/auth/altcha.ts PowVerifier): false refuses (15), true proves, a
 * promise (which never rejects) answers later.
 */
export interface ProofCheck {
  check(payload: string, event: string, user: string, pow: PowDifficulty, nowMs: number): boolean | Promise<boolean>;
}

/** A buy's Reply after an asynchronous step: every answer corked (Reply.answerLater). */
class LaterReply implements Reply {
  constructor(private readonly res: Reply) {}
  get channel(): Reply['channel'] {
    return this.res.channel;
  }
  answer(code: Outcome, order: number, closing: boolean, count?: number): void {
    this.res.answerLater(code, order, closing, count);
  }
  answerLater(code: Outcome, order: number, closing: boolean, count?: number): void {
    this.res.answerLater(code, order, closing, count);
  }
  parked(gone: () => void): void {
    this.res.parked(gone);
  }
}

/** Where admitted leaders go: this process's consumer. */
export interface Decider {
  /** False when a leader could not be decided now (Redis away): answer 10 at once. */
  readonly redisReady: boolean;
  enqueue(p: Parked): void;
}

/**
 * Where a buy request is decided or parked, synchronously, inside the uWS
 * handler: auth (8), blocklist (8), event (7), per-address limit (5),
 * per-user throttle (5), proof of work (15), prefilter, then queue full (5), Redis down (10),
 * or park. Only a parked request asks to hear of its client leaving (Reply.parked, still before
 * anything asynchronous happens); one answered here needs nothing. The one
 * asynchronous step before admission is altcha-lib's check of a solution
 * this process has not seen yet: the request registers for its client
 * leaving first, and goes on (or hears 15) corked.
 */
export class Admission implements ShutdownGate {
  constructor(
    private readonly catalog: EventLookup,
    private readonly ledger: Ledger,
    private readonly decider: Decider,
    private readonly timeoutMs: number,
    /** Answers refused before an event was found. */
    private readonly refused: AnswerCounts,
    private readonly guards: {
      /** Per user (SECKILL_USER_RATE). */
      readonly throttle?: Throttle;
      /** Per client address (SECKILL_IP_RATE): the transports then pass each buy's address key. */
      readonly addresses?: Throttle;
      readonly blocklist?: Blocklist;
      /** Solved challenges of events with proof of work; absent (no secret to check them with): such buys hear 15. */
      readonly proofs?: ProofCheck;
    } = {},
  ) {}

  /** Whether a transport should read a buy's solution (an event with proof of work is known here). */
  get wantsProof(): boolean {
    return this.catalog.powInUse === true;
  }

  /**
   * The blocklist (8) and SECKILL_USER_RATE (5) for a request other than a
   * buy that costs the server work (a challenge); undefined: go on.
   */
  userGate(user: string, now: number): Outcome.Unauthorized | Outcome.Busy | undefined {
    const { throttle, blocklist } = this.guards;
    if (blocklist !== undefined && blocklist.has(user)) return Outcome.Unauthorized;
    if (throttle !== undefined && !throttle.allow(user, now)) return Outcome.Busy;
    return undefined;
  }

  /**
   * Set at shutdown: nothing new is parked; what could not be decided
   * locally gets 10; every answer closes its connection.
   */
  closing = false;

  /**
   * `user` is undefined when the token did not verify; `address` is the
   * client's address key (src/admission/address-key.ts), given only while
   * the per-address limit is on; `solution` the solved ALTCHA challenge
   * (`x-altcha`, or the WebSocket frame's), read only while wantsProof.
   * `q` and `sku` (an event sold in lots: the HTTP query, the WebSocket
   * frame's map) default to one unit, no SKU; a q of 0 is a malformed one.
   */
  buy(res: Reply, eventId: string, user: string | undefined, address?: string, solution?: string, q = 1, sku = ''): void {
    if (user === undefined) return this.refuse(res, Outcome.Unauthorized);
    const { throttle, addresses, blocklist } = this.guards;
    if (blocklist !== undefined && blocklist.has(user)) return this.refuse(res, Outcome.Unauthorized);
    const event = this.catalog.get(eventId);
    if (event === undefined) return this.refuse(res, Outcome.UnknownEvent);
    // q from 1 to the limit; a SKU the event has, named exactly when it has SKUs. The plain buy passes at the first test.
    let skuIndex = 0;
    if (q !== 1 || sku !== '' || event.hasSkus) {
      skuIndex = sku === '' ? (event.hasSkus ? -1 : 0) : event.hasSkus ? event.skuIndex(sku) : -1;
      if (q < 1 || q > event.limit || skuIndex < 0) return this.answer(res, event, Outcome.BadRequest, 0, Stage.Prefilter);
    }
    const now = Date.now();
    if (address !== undefined && addresses !== undefined && !addresses.allow(address, now)) {
      return this.answer(res, event, Outcome.Busy, 0, Stage.Prefilter);
    }
    if (throttle !== undefined && !throttle.allow(user, now)) {
      return this.answer(res, event, Outcome.Busy, 0, Stage.Prefilter);
    }
    // Proof of work until the end (after it, the prefilter's 4 says more than 15 would).
    if (event.pow !== undefined && now < event.end) {
      const proofs = this.guards.proofs;
      const proven = solution === undefined || solution === '' || proofs === undefined ? false : proofs.check(solution, event.id, user, event.pow, now);
      if (proven === false) return this.answer(res, event, Outcome.ChallengeRequired, 0, Stage.Prefilter);
      if (proven !== true) return this.afterProof(res, event, user, proven, q, skuIndex);
    }
    this.decide(res, event, user, now, q, skuIndex);
  }

  /**
   * A solution altcha-lib checks asynchronously: the client may leave
   * meanwhile (then nothing more happens: never parked, never sent to
   * Redis); else it hears 15, or goes on to the prefilter, corked.
   */
  private afterProof(res: Reply, event: SaleEvent, user: string, proof: Promise<boolean>, q: number, skuIndex: number): void {
    let gone = false;
    res.parked(() => (gone = true));
    void proof
      .then((ok) => {
        if (gone) return;
        const later = new LaterReply(res);
        if (!ok) return this.answer(later, event, Outcome.ChallengeRequired, 0, Stage.Prefilter);
        this.decide(later, event, user, Date.now(), q, skuIndex);
      })
      .catch((err: unknown) => log.error({ err, event: event.id }, 'buy after its proof of work failed'));
  }

  /** From the prefilter on: answered here, or parked. */
  private decide(res: Reply, event: SaleEvent, user: string, now: number, q: number, skuIndex: number): void {
    const decision = prefilter(event, user, now, q, skuIndex);
    if (decision === QUEUE || decision === FOLLOW || decision === WAIT) {
      if (this.closing) return this.answer(res, event, Outcome.Unavailable, 0, Stage.Queue);
      if (this.ledger.full) return this.answer(res, event, Outcome.Busy, 0, Stage.Queue);
      if (decision === QUEUE && !this.decider.redisReady) return this.answer(res, event, Outcome.Unavailable, 0, Stage.Queue);
      const p = this.park(res, event, user, now, q, skuIndex);
      if (decision === WAIT) this.ledger.stand(p);
      else this.admit(p, decision);
    } else {
      const order = decision === Outcome.AlreadyBought ? (event.winners.get(user) ?? 0) : 0;
      this.answer(res, event, decision, order, Stage.Prefilter, event.lots ? lotsCount(event, decision, user, skuIndex) : 0);
    }
  }

  /** A parked request goes on: queued as a leader, or following the same user's. */
  private admit(p: Parked, decision: typeof QUEUE | typeof FOLLOW): void {
    const event = p.event;
    if (decision === FOLLOW) return this.ledger.follow(event.queued.get(p.user) as Parked, p);
    // Redis has nothing left but this process does not know every buyer: ask Redis, and read them meanwhile.
    if (event.remaining <= 0 && !event.winnersComplete && !event.lots) this.catalog.completeWinners?.(event);
    this.ledger.reserve(p);
    this.decider.enqueue(p);
  }

  /**
   * Decides again the requests standing by for `event` (a unit came free,
   * the count changed, or the server is stopping), in arrival order, until
   * one must wait again.
   */
  review(event: SaleEvent): void {
    const now = Date.now();
    for (let p = this.ledger.nextStanding(event); p !== undefined; p = this.ledger.nextStanding(event)) {
      const decision: Decision = p.done ? Outcome.Unavailable : this.closing ? Outcome.Unavailable : prefilter(event, p.user, now, p.q, p.sku);
      if (decision === WAIT) return;
      const admitted = (decision === QUEUE && this.decider.redisReady) || decision === FOLLOW;
      this.ledger.unstand(event, admitted);
      if (p.done) continue;
      if (admitted) this.admit(p, decision);
      else if (decision === QUEUE) this.ledger.answerParked(p, Outcome.Unavailable, 0, Stage.Queue);
      else {
        const order = decision === Outcome.AlreadyBought ? (event.winners.get(p.user) ?? 0) : 0;
        this.ledger.answerParked(p, decision, order, Stage.Prefilter, event.lots ? lotsCount(event, decision, p.user, p.sku) : 0);
      }
    }
  }

  private answer(res: Reply, event: SaleEvent, code: Outcome, order: number, stage: Stage, count = 0): void {
    event.answers.count(res.channel, stage, code);
    res.answer(code, order, this.closing, count);
  }

  /** Refused before any sale was looked at: no event's counts to add to. */
  private refuse(res: Reply, code: Outcome): void {
    this.refused.count(res.channel, Stage.Http, code);
    res.answer(code, 0, this.closing);
  }

  private park(res: Reply, event: SaleEvent, user: string, now: number, q: number, sku: number): Parked {
    // An entrant of a draw at the opening waits for its close: its deadline runs from there.
    const from = event.drawPending ? Math.max(now, event.start + event.drawMs) : now;
    const p = new Parked(this, res, event, user, from + this.timeoutMs, q, sku);
    res.parked(() => this.ledger.abandon(p));
    return p;
  }
}
