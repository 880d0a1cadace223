/**
 * Token checks per second on a crowd's pattern (each token seen ~3 times):
 * seckill's verifier (cache keyed by the token text) against fast-jwt's own
 * cache (keyed by a SHA-256 of each token) and against no cache, same run.
 * Then the million pattern: 300,000 new users once each, so every check
 * misses a full cache and evicts: seckill's verifier against no cache.
 *
 *   npm run bench:jwt
 */
import { performance } from 'node:perf_hooks';
import { createVerifier } from 'fast-jwt';
import { createUserVerifier } from '../src/auth/jwt';
import { BENCH_SECRET, mintTokens } from './load';
import { writeResult } from './report';

const tokens = mintTokens(50_000).map((t) => `Bearer ${t}`);
const order = Array.from({ length: 150_000 }, (_, i) => tokens[(i * 7919) % tokens.length] as string);

function time(name: string, check: (auth: string) => unknown, seq: readonly string[] = order, rounds = 5): { name: string; perSecond: number } {
  for (let i = 0; i < 20_000; i++) check(order[i] as string); // warm up
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (const auth of seq) if (check(auth) === undefined) throw new Error('a valid token was refused');
    rates.push(seq.length / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return { name, perSecond: Math.round(rates[Math.floor(rates.length / 2)] ?? 0) };
}

const ours = createUserVerifier(BENCH_SECRET, '', 100_000);
const theirs = createVerifier({ key: BENCH_SECRET, algorithms: ['HS256'], cache: 100_000 });
const none = createVerifier({ key: BENCH_SECRET, algorithms: ['HS256'] });
const results = [
  time('seckill verifier (token-keyed cache)', ours),
  time("fast-jwt cache (SHA-256-keyed)", (a) => (theirs(a.slice(7)) as { sub: string }).sub),
  time('fast-jwt, no cache', (a) => (none(a.slice(7)) as { sub: string }).sub),
];
const base = results[1]!.perSecond;
// Every token new: one pass each, fresh verifiers, so the cache is full and evicting throughout.
const crowd = mintTokens(300_000, 'new').map((t) => `Bearer ${t}`);
const misses = [
  time('seckill verifier, cache of 100,000 (all misses)', createUserVerifier(BENCH_SECRET, '', 100_000), crowd, 1),
  time('seckill verifier, no cache', createUserVerifier(BENCH_SECRET, '', 0), crowd, 1),
];
const missBase = misses[1]!.perSecond;
const md = [
  '| verifier | checks/s | vs fast-jwt cache |',
  '|---|---|---|',
  ...results.map((r) => `| ${r.name} | ${r.perSecond} | ${(r.perSecond / base).toFixed(2)}× |`),
  '',
  '| every token new (300,000 users once) | checks/s | vs no cache |',
  '|---|---|---|',
  ...misses.map((r) => `| ${r.name} | ${r.perSecond} | ${(r.perSecond / missBase).toFixed(2)}× |`),
].join('\n');
writeResult('jwt', { date: new Date().toISOString(), results, misses }, md);
process.stdout.write(md + '\n');
