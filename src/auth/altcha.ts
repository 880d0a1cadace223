import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Challenge, DeriveKeyFunction } from 'altcha-lib' with { 'resolution-mode': 'import' };
import type { PowDifficulty } from '../sale';

/**
 * Proof of work with ALTCHA (PoW v2, the version altcha-lib 2.x implements
 * by default, which standard ALTCHA widgets solve unchanged). altcha-lib
 * makes every challenge and has the last word on every solution; what is
 * here only keeps the buy path cheap around it:
 *
 * - Challenges are made in ALTCHA's deterministic mode: the server derives
 *   the key for a secret counter and signs it (`keySignature`), so checking
 *   a solution is two HMACs, never a key derivation.
 * - A challenge is bound to its user and event (`data.u`, `data.e`, signed
 *   with the rest) and expires at the event's end (`expiresAt`).
 * - Before altcha-lib is asked, the payload is read and its binding, its
 *   difficulty, its expiry and its signature (the same HMAC over the same
 *   canonical JSON altcha-lib computes) are checked synchronously: anything
 *   the server did not sign for this user and event is refused at once, and
 *   never costs an asynchronous step.
 * - What altcha-lib accepted is remembered by the challenge's signature
 *   (with its user, event, derived key and expiry): the same solution again
 *   (a retry, a second click) is accepted synchronously.
 *
 * altcha-lib is an ES module; this CommonJS build loads it with import(),
 * once, on first use.
 */

/** HMAC secrets of the challenges (altcha-lib's hmacSignatureSecret and hmacKeySignatureSecret). */
export interface PowKeys {
  readonly signature: string;
  readonly key: string;
}

/**
 * The two secrets, derived from SECKILL_POW_SECRET (else SECKILL_JWT_SECRET)
 * with a label each: every process and instance with the same configuration
 * signs and accepts the same challenges, and neither secret is the JWT key.
 * Undefined when there is nothing to derive them from.
 */
export function powKeys(powSecret: string, jwtSecret: string): PowKeys | undefined {
  const base = powSecret !== '' ? powSecret : jwtSecret;
  if (base === '') return undefined;
  const derive = (label: string): string => createHmac('sha256', base).update(label).digest('hex');
  return { signature: derive('seckill altcha challenge signature'), key: derive('seckill altcha key signature') };
}

type Lib = typeof import('altcha-lib', { with: { 'resolution-mode': 'import' } });
interface Libs {
  readonly lib: Lib;
  readonly pbkdf2: DeriveKeyFunction;
  readonly sha: DeriveKeyFunction;
}
let libs: Promise<Libs> | undefined;
function loadLibs(): Promise<Libs> {
  return (libs ??= Promise.all([import('altcha-lib'), import('altcha-lib/algorithms/pbkdf2'), import('altcha-lib/algorithms/sha')]).then(
    ([lib, pbkdf2, sha]) => ({ lib, pbkdf2: pbkdf2.deriveKey, sha: sha.deriveKey }),
  ));
}
const deriveKeyOf = (l: Libs, algorithm: string): DeriveKeyFunction => (algorithm.startsWith('PBKDF2/') ? l.pbkdf2 : l.sha);

/** What a challenge is bound to, as its signed `data` carries it. */
interface Binding {
  readonly e: string;
  readonly u: string;
  /** The event's counter range when it was made (`min-max`): the one part of the difficulty the challenge does not carry itself. */
  readonly r: string;
}

const rangeOf = (pow: PowDifficulty): string => `${pow.counter[0]}-${pow.counter[1]}`;

/**
 * A new challenge for `user` in `event`, of the event's difficulty, expiring
 * at `endMs` (ALTCHA counts seconds: rounded up). Costs one key derivation
 * at the event's cost (libuv's thread pool for PBKDF2).
 */
export async function makeChallenge(keys: PowKeys, pow: PowDifficulty, event: string, user: string, endMs: number): Promise<Challenge> {
  const l = await loadLibs();
  const binding: Binding = { e: event, u: user, r: rangeOf(pow) };
  return l.lib.createChallenge({
    algorithm: pow.algorithm,
    cost: pow.cost,
    counter: l.lib.randomInt(pow.counter[1], pow.counter[0]),
    deriveKey: deriveKeyOf(l, pow.algorithm),
    data: { ...binding },
    expiresAt: Math.ceil(endMs / 1000),
    hmacSignatureSecret: keys.signature,
    hmacKeySignatureSecret: keys.key,
  });
}

/** Challenges derived at once by one process, at most: libuv's pool (4 threads) keeps room for the buys' checks. */
export const CHALLENGES_AT_ONCE = 2;
/** Challenge requests waiting for a derivation in one process, at most (beyond: busy). */
export const CHALLENGES_WAITING = 1_000;

/**
 * Makes challenges a few at a time. Each costs a key derivation at the
 * event's cost on libuv's thread pool, the same pool whose WebCrypto jobs
 * check the buys' first solutions: unbounded, a flood of challenge requests
 * (one user's, at cost 100,000) held every such buy behind it for seconds.
 * So at most CHALLENGES_AT_ONCE derive at once, the others wait in line (at
 * most CHALLENGES_WAITING), and a user has one challenge of an event under
 * way at a time. `make` answers undefined for a request refused (busy: the
 * client retries after a second); its promise gives undefined when the client
 * left while it waited (`wanted`: nothing derived for nobody).
 */
export class ChallengeDesk {
  private running = 0;
  private readonly line: (() => void)[] = [];
  /** `event\nuser` of every challenge under way or waiting. */
  private readonly asking = new Set<string>();

  constructor(
    private readonly keys: PowKeys,
    private readonly atOnce = CHALLENGES_AT_ONCE,
    private readonly waiting = CHALLENGES_WAITING,
  ) {}

  make(pow: PowDifficulty, event: string, user: string, endMs: number, wanted: () => boolean): Promise<Challenge | undefined> | undefined {
    const who = `${event}\n${user}`;
    if (this.asking.has(who) || this.line.length >= this.waiting) return undefined;
    this.asking.add(who);
    return this.turn()
      .then(() => (wanted() ? makeChallenge(this.keys, pow, event, user, endMs) : undefined))
      .finally(() => {
        this.asking.delete(who);
        this.running--;
        this.line.shift()?.();
      });
  }

  /** Resolves when a derivation may start (counted as running from then). */
  private turn(): Promise<void> {
    if (this.running < this.atOnce) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.line.push(() => {
        this.running++;
        resolve();
      }),
    );
  }
}

/** The longest `x-altcha` payload read (a real one is under 1 KB; a user id of 128 characters included). */
export const MAX_PAYLOAD = 2048;
/** Solutions remembered as accepted, at most (about 250 bytes each); the oldest goes first. */
export const REMEMBERED = 100_000;

const HEX64 = /^[0-9a-f]{64}$/;

interface Remembered {
  readonly event: string;
  readonly user: string;
  readonly derivedKey: string;
  readonly expiresMs: number;
  /** The difficulty it was solved at (a correction of the event's pow since makes it stale). */
  readonly algorithm: string;
  readonly cost: number;
}

/** altcha-lib's canonical JSON (helpers.js canonicalJSON): keys sorted at every level of objects, undefined left out. */
function sortKeys(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .flatMap((k) => (o[k] === undefined ? [] : [[k, sortKeys(o[k])]])),
  );
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A payload as the ALTCHA widget sends it (base64 of `{challenge, solution}`), read without trusting any of it. */
function readPayload(text: string): { parameters: Record<string, unknown>; signature: string; counter: number; derivedKey: string } | undefined {
  if (text.length > MAX_PAYLOAD) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(v) || !isObject(v.challenge) || !isObject(v.solution)) return undefined;
  const { parameters, signature } = v.challenge;
  const { counter, derivedKey } = v.solution;
  if (!isObject(parameters) || typeof signature !== 'string' || !HEX64.test(signature)) return undefined;
  if (typeof counter !== 'number' || typeof derivedKey !== 'string') return undefined;
  return { parameters, signature, counter, derivedKey };
}

/**
 * Checks the solved challenges that buys carry: false (refuse: 15), true
 * (proven), or a promise of either when altcha-lib must be asked (the first
 * time a solution is seen by this process). Never throws, and the promise
 * never rejects.
 */
export class PowVerifier {
  private readonly accepted = new Map<string, Remembered>();

  constructor(
    private readonly keys: PowKeys,
    private readonly remember = REMEMBERED,
  ) {}

  check(payload: string, event: string, user: string, pow: PowDifficulty, nowMs: number): boolean | Promise<boolean> {
    const p = readPayload(payload);
    if (p === undefined) return false;
    const { parameters, signature, counter, derivedKey } = p;
    const data = parameters.data;
    if (!isObject(data) || data.e !== event || data.u !== user) return false;
    // A challenge of another difficulty (the event was corrected since) is refused: fetch a new one.
    if (parameters.algorithm !== pow.algorithm || parameters.cost !== pow.cost || data.r !== rangeOf(pow)) return false;
    const expiresAt = parameters.expiresAt;
    if (typeof expiresAt !== 'number' || !(expiresAt * 1000 > nowMs)) return false;
    const known = this.accepted.get(signature);
    if (known !== undefined) {
      return (
        known.event === event && known.user === user && known.derivedKey === derivedKey && nowMs < known.expiresMs &&
        known.algorithm === pow.algorithm && known.cost === pow.cost
      );
    }
    const expected = createHmac('sha256', this.keys.signature).update(JSON.stringify(sortKeys(parameters))).digest();
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return false;
    return this.verify(parameters, signature, counter, derivedKey).then(
      (ok) => {
        if (ok) this.learn(signature, { event, user, derivedKey, expiresMs: expiresAt * 1000, algorithm: pow.algorithm, cost: pow.cost });
        return ok;
      },
      () => false,
    );
  }

  /** altcha-lib's verdict: expiry, signature, and the derived key against the key signature. */
  private async verify(parameters: Record<string, unknown>, signature: string, counter: number, derivedKey: string): Promise<boolean> {
    const l = await loadLibs();
    const challenge = { parameters, signature } as unknown as Challenge;
    const r = await l.lib.verifySolution({
      challenge,
      solution: { counter, derivedKey },
      deriveKey: deriveKeyOf(l, String(parameters.algorithm)),
      hmacSignatureSecret: this.keys.signature,
      hmacKeySignatureSecret: this.keys.key,
    });
    return r.verified;
  }

  private learn(signature: string, r: Remembered): void {
    if (this.accepted.size >= this.remember) {
      const oldest = this.accepted.keys().next();
      if (oldest.done !== true) this.accepted.delete(oldest.value);
    }
    this.accepted.set(signature, r);
  }

  /** Solutions remembered now (tests, metrics). */
  get remembered(): number {
    return this.accepted.size;
  }
}
