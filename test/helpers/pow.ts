import type { Challenge } from 'altcha-lib' with { 'resolution-mode': 'import' };
import { token } from './app';

/** A difficulty a test solves in a few milliseconds: iterated SHA-256 once per try, 10 to 60 tries. */
export const EASY_POW = Object.freeze({ algorithm: 'SHA-256', cost: 1, counter: [10, 60] });

/** What an ALTCHA widget does with a challenge: solve it with altcha-lib and encode the payload (base64 JSON of challenge and solution). */
export async function solve(challenge: Challenge): Promise<string> {
  const lib = await import('altcha-lib');
  const { deriveKey } = challenge.parameters.algorithm.startsWith('PBKDF2/')
    ? await import('altcha-lib/algorithms/pbkdf2')
    : await import('altcha-lib/algorithms/sha');
  const solution = await lib.solveChallenge({ challenge, deriveKey, timeout: 30_000 });
  if (solution === null) throw new Error('challenge not solved in time');
  return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
}

/** GET /events/{e}/challenge as `user`: the status, and the challenge when 200 (else the body). */
export async function fetchChallenge(base: string, event: string, user: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}/events/${event}/challenge`, { headers: { authorization: `Bearer ${token(user)}` } });
  return { status: res.status, body: await res.json() };
}

/** A solved challenge for `user` in `event`, as the `x-altcha` header carries it. */
export async function proof(base: string, event: string, user: string): Promise<string> {
  const { status, body } = await fetchChallenge(base, event, user);
  if (status !== 200) throw new Error(`challenge: ${status} ${JSON.stringify(body)}`);
  return solve(body as Challenge);
}
