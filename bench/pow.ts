/**
 * The proof-of-work check (src/auth/altcha.ts PowVerifier), per request, as
 * the buy path pays it for an event with `pow`:
 * 1. refusals, all synchronous: another user's solution (decode + binding),
 *    a forged signature (decode + binding + one HMAC), junk;
 * 2. a solution this process has not seen: altcha-lib's verifySolution
 *    (WebCrypto, asynchronous), wall and CPU per check with 100 in flight;
 * 3. the same solutions again (remembered): synchronous;
 * 4. a challenge made (GET /events/{e}/challenge): one key derivation at the
 *    event's cost, at ALTCHA's default PBKDF2/SHA-256 cost 5,000.
 * Checking a solution costs the same whatever the difficulty (ALTCHA's
 * deterministic mode checks the derived key's signature, never derives it):
 * the solutions here are solved at a tiny one, and one row repeats 2. at
 * cost 5,000 to show it.
 *
 *   npm run bench:pow [-- --save]        (POW_BENCH_N=20 for a smoke run)
 */
import { performance } from 'node:perf_hooks';
import type { Challenge } from 'altcha-lib' with { 'resolution-mode': 'import' };
import { makeChallenge, powKeys, PowVerifier, type PowKeys } from '../src/auth/altcha';
import type { PowDifficulty } from '../src/sale';
import { writeResult } from './report';

const N = Number(process.env.POW_BENCH_N ?? 20_000);
const EVENT = 'bench';
const say = (s: string): void => void process.stdout.write(s + '\n');

interface Row {
  readonly name: string;
  readonly checks: number;
  readonly usWall: number;
  readonly usCpu: number;
}

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Runs `check` over every item, `inFlight` at a time; each must come to `expect`. */
async function timed<T>(name: string, items: readonly T[], check: (item: T) => boolean | Promise<boolean>, expect: boolean, inFlight = 1): Promise<Row> {
  const cpu0 = cpuUs();
  const t0 = performance.now();
  for (let i = 0; i < items.length; i += inFlight) {
    const results = await Promise.all(items.slice(i, i + inFlight).map(check));
    if (results.some((r) => r !== expect)) throw new Error(`${name}: a check did not come to ${expect}`);
  }
  const wall = performance.now() - t0;
  const cpu = cpuUs() - cpu0;
  return { name, checks: items.length, usWall: +((wall * 1000) / items.length).toFixed(2), usCpu: +(cpu / items.length).toFixed(2) };
}

/** `n` solved payloads, one user each, as an ALTCHA widget would send them. */
async function solved(keys: PowKeys, pow: PowDifficulty, n: number, prefix: string): Promise<{ user: string; payload: string }[]> {
  const lib = await import('altcha-lib');
  const { deriveKey } = pow.algorithm.startsWith('PBKDF2/') ? await import('altcha-lib/algorithms/pbkdf2') : await import('altcha-lib/algorithms/sha');
  const end = Date.now() + 3_600_000;
  const out: { user: string; payload: string }[] = [];
  for (let i = 0; i < n; i++) {
    const user = `${prefix}${i}`;
    const challenge: Challenge = await makeChallenge(keys, pow, EVENT, user, end);
    const solution = await lib.solveChallenge({ challenge, deriveKey });
    if (solution === null) throw new Error('not solved');
    out.push({ user, payload: Buffer.from(JSON.stringify({ challenge, solution })).toString('base64') });
  }
  return out;
}

async function main(): Promise<void> {
  const keys = powKeys('bench pow secret', '') as PowKeys;
  const tiny: PowDifficulty = { algorithm: 'SHA-256', cost: 1, counter: [1, 4] };
  const real: PowDifficulty = { algorithm: 'PBKDF2/SHA-256', cost: 5_000, counter: [0, 2] };
  say(`solving ${N} challenges ...`);
  const sols = await solved(keys, tiny, N, 'u');
  const realSols = await solved(keys, real, Math.min(N, 500), 'r');
  const now = Date.now();
  const forged = sols.map((s) => {
    const p = JSON.parse(Buffer.from(s.payload, 'base64').toString()) as { challenge: { signature: string } };
    p.challenge.signature = 'ab'.repeat(32);
    return { user: s.user, payload: Buffer.from(JSON.stringify(p)).toString('base64') };
  });

  const refusals = new PowVerifier(keys);
  const rows: Row[] = [
    await timed('refused: another user\'s solution (decode, binding)', sols, (s) => refusals.check(s.payload, EVENT, 'someone-else', tiny, now), false),
    await timed('refused: a forged signature (decode, binding, one HMAC)', forged, (s) => refusals.check(s.payload, EVENT, s.user, tiny, now), false),
    await timed('refused: junk (not base64 JSON)', sols, () => refusals.check('bm90IGpzb24=', EVENT, 'u', tiny, now), false),
  ];
  const fresh = new PowVerifier(keys);
  rows.push(await timed('first time: altcha-lib verifySolution (100 in flight)', sols, (s) => fresh.check(s.payload, EVENT, s.user, tiny, now), true, 100));
  rows.push(await timed('first time, one at a time', sols.slice(0, Math.min(N, 2_000)), (s) => new PowVerifier(keys).check(s.payload, EVENT, s.user, tiny, now), true));
  rows.push(await timed('first time at PBKDF2/SHA-256 cost 5,000 (100 in flight)', realSols, (s) => fresh.check(s.payload, EVENT, s.user, real, now), true, 100));
  rows.push(await timed('again: the same solutions, remembered', sols, (s) => fresh.check(s.payload, EVENT, s.user, tiny, now), true));
  const makes = Array.from({ length: Math.min(N, 500) }, (_, i) => `m${i}`);
  rows.push(await timed('a challenge made, PBKDF2/SHA-256 cost 5,000 (one at a time)', makes, (u) => makeChallenge(keys, real, EVENT, u, now + 3_600_000).then(() => true), true));

  const md = [
    `| the check, per request (${N} solutions) | checks | µs wall | µs CPU (every thread) |`,
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.checks} | ${r.usWall} | ${r.usCpu} |`),
  ].join('\n');
  writeResult('pow', { date: new Date().toISOString(), n: N, rows }, md);
  say(md);
}

void main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
