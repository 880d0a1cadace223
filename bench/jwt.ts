/**
 * Token checks per second on a crowd's pattern (each token seen ~3 times):
 * seckill's verifier (cache keyed by the token text) against fast-jwt's own
 * cache (keyed by a SHA-256 of each token) and against no cache, same run.
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

function time(name: string, check: (auth: string) => unknown): { name: string; perSecond: number } {
  for (let i = 0; i < 20_000; i++) check(order[i] as string); // warm up
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (const auth of order) if (check(auth) === undefined) throw new Error('a valid token was refused');
    rounds.push(order.length / ((performance.now() - t0) / 1000));
  }
  rounds.sort((a, b) => a - b);
  return { name, perSecond: Math.round(rounds[2] ?? 0) };
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
const md = ['| verifier | checks/s | vs fast-jwt cache |', '|---|---|---|', ...results.map((r) => `| ${r.name} | ${r.perSecond} | ${(r.perSecond / base).toFixed(2)}× |`)].join('\n');
writeResult('jwt', { date: new Date().toISOString(), results }, md);
process.stdout.write(md + '\n');
