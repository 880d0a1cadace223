/**
 * The token check, in one run:
 * 1. First-time verification (every token new, no cache), µs per token:
 *    fast-jwt as jwt.ts configures it; fast-jwt's decoder alone (the floor
 *    that no tuning of fast-jwt's verify options can go under); seckill's
 *    HS256 fast path (hs256.ts); the HMAC alone, both ways.
 * 2. The whole verifier on a crowd's pattern (each token seen ~3 times)
 *    against fast-jwt's own SHA-256-keyed cache.
 * 3. A crowd of new users once each (the cache full and evicting).
 *
 *   npm run bench:jwt [-- --save]
 */
import { createHmac, createSecretKey } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createDecoder, createVerifier } from 'fast-jwt';
import { createHmacSha256 } from '../src/auth/hmac-sha256';
import { createHs256FastPath } from '../src/auth/hs256';
import { createUserVerifier } from '../src/auth/jwt';
import { BENCH_SECRET, mintTokens } from './load';
import { writeResult } from './report';

interface Timed {
  readonly name: string;
  readonly perSecond: number;
  readonly usPerCheck: number;
}

/** Median of `rounds` passes over `seq`; every check must accept. */
function time(name: string, check: (s: string) => unknown, seq: readonly string[], rounds: number, warm = true): Timed {
  if (warm) for (let i = 0; i < Math.min(20_000, seq.length); i++) check(seq[i] as string);
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (const s of seq) if (check(s) === undefined) throw new Error(`${name}: a valid token was refused`);
    rates.push(seq.length / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  const perSecond = Math.round(rates[Math.floor(rates.length / 2)] ?? 0);
  return { name, perSecond, usPerCheck: +(1e6 / perSecond).toFixed(2) };
}

const say = (s: string): void => void process.stdout.write(s + '\n');
say('minting tokens ...');
const raw = mintTokens(100_000, 'first');

// 1. First-time verification: no cache anywhere.
const fastJwt = createVerifier({ key: BENCH_SECRET, algorithms: ['HS256'], requiredClaims: ['sub'] });
const decode = createDecoder();
const fastPath = createHs256FastPath(BENCH_SECRET);
const key = createSecretKey(Buffer.from(BENCH_SECRET));
const oneShot = createHmacSha256(Buffer.from(BENCH_SECRET));
const first = [
  time('fast-jwt verify (as configured before)', (t) => (fastJwt(t) as { sub: string }).sub, raw, 5),
  time('fast-jwt decode only (no signature check)', (t) => (decode(t) as { sub: string }).sub, raw, 5),
  time('seckill HS256 fast path (node:crypto)', (t) => {
    const r = fastPath(t);
    return typeof r === 'object' ? r.payload.sub : undefined;
  }, raw, 5),
  time('HMAC-SHA256 alone, createHmac with a KeyObject', (t) => createHmac('sha256', key).update(t.slice(0, t.lastIndexOf('.'))).digest(), raw, 5),
  time('HMAC-SHA256 alone, two one-shot crypto.hash calls (hmac-sha256.ts)', (t) => oneShot(t.slice(0, t.lastIndexOf('.'))), raw, 5),
];
const fjBase = first[0]!.usPerCheck;

// 2. A crowd's pattern: 50,000 tokens, each checked 3 times.
const tokens = raw.slice(0, 50_000).map((t) => `Bearer ${t}`);
const order = Array.from({ length: 150_000 }, (_, i) => tokens[(i * 7919) % tokens.length] as string);
const theirs = createVerifier({ key: BENCH_SECRET, algorithms: ['HS256'], cache: 100_000 });
const repeat = [
  time('seckill verifier (fast path, token-keyed cache)', createUserVerifier(BENCH_SECRET, '', 448), order, 5),
  time('fast-jwt cache (SHA-256-keyed)', (a) => (theirs(a.slice(7)) as { sub: string }).sub, order, 5),
];
const repeatBase = repeat[1]!.perSecond;

// 3. Every token new: one pass each, fresh verifiers, the cache full and evicting throughout.
const crowd = mintTokens(300_000, 'new').map((t) => `Bearer ${t}`);
const misses = [
  time('seckill verifier, 32 MiB cache (≈ 80,000 tokens, all misses)', createUserVerifier(BENCH_SECRET, '', 32), crowd, 1, false),
  time('seckill verifier, no cache', createUserVerifier(BENCH_SECRET, '', 0), crowd, 1, false),
];
const missBase = misses[1]!.perSecond;

const md = [
  '| first-time check (100,000 new tokens, no cache) | checks/s | µs per token | vs fast-jwt verify |',
  '|---|---|---|---|',
  ...first.map((r) => `| ${r.name} | ${r.perSecond} | ${r.usPerCheck} | ${(r.usPerCheck / fjBase).toFixed(2)}× |`),
  '',
  '| 50,000 tokens, each checked 3 times | checks/s | vs fast-jwt cache |',
  '|---|---|---|',
  ...repeat.map((r) => `| ${r.name} | ${r.perSecond} | ${(r.perSecond / repeatBase).toFixed(2)}× |`),
  '',
  '| every token new (300,000 users once) | checks/s | vs no cache |',
  '|---|---|---|',
  ...misses.map((r) => `| ${r.name} | ${r.perSecond} | ${(r.perSecond / missBase).toFixed(2)}× |`),
].join('\n');
writeResult('jwt', { date: new Date().toISOString(), first, repeat, misses }, md);
say(md);
