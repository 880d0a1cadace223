import t from 'tap';
import { ADMIN, buy, putEvent, SECRET, token } from './helpers/app';
import { EASY_POW, fetchChallenge, proof } from './helpers/pow';
import { spawnServer, type ServerProcess } from './helpers/process';
import { tempDir } from './helpers/services';
import { until } from './helpers/wait';
import type { Test } from 'tap';

/**
 * Attacks on proof of work (issue 24 part 2) as a hostile client, on real
 * server processes: malformed solutions of every shape, replays, clients
 * that leave mid-check, a flood of the challenge route, a difficulty
 * changed under a solution, proof of work with a draw. Every refusal is 15
 * and changes nothing; no input crashes the server or delays other buyers.
 */

const withAltcha = (solution: string): RequestInit => ({ headers: { 'x-altcha': solution } });

async function server(t: Test, workers = '1', extra: Record<string, string> = {}): Promise<ServerProcess> {
  return spawnServer(t, { SECKILL_DATA_DIR: tempDir(t), SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, MYSQL_URL: 'none', SECKILL_WORKERS: workers, ...extra });
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

async function floodWhileBuying(t: Test, s: ServerProcess, asker: (i: number) => string, solutions: readonly string[], buyers: readonly string[]): Promise<Record<number, number>> {
  const flood = Array.from({ length: 300 }, (_, i) => fetchChallenge(s.base, 'heavy', asker(i)).catch(() => ({ status: -1, body: null })));
  await new Promise((r) => setTimeout(r, 100));
  const during = await Promise.all(solutions.map((sol, i) => timed(() => buy(s.base, 'easy', buyers[i] as string, withAltcha(sol)))));
  const rest = await timed(() => Promise.all(flood));
  const statuses: Record<number, number> = {};
  for (const x of rest.value) statuses[x.status] = (statuses[x.status] ?? 0) + 1;
  t.comment(`flood answers ${JSON.stringify(statuses)}, the rest of it ${rest.ms.toFixed(0)} ms after the buys`);
  t.ok(during.every((d) => d.value.c === 0), 'the buyers won');
  t.ok(Math.max(...during.map((d) => d.ms)) < 1_000, `a buy with a fresh solution during the flood: ${during.map((d) => d.ms.toFixed(0)).join(', ')} ms (at most 1 s)`);
  return statuses;
}

t.test('the challenge route hammered (each call a key derivation at the event cost): buyers with a fresh solution are not held up', async (t) => {
  const s = await server(t);
  t.equal((await putEvent(s.base, 'heavy', { stock: 10, pow: { cost: 100_000 } })).status, 201);
  t.equal((await putEvent(s.base, 'easy', { stock: 100, pow: EASY_POW })).status, 201);
  const buyers = Array.from({ length: 7 }, (_, i) => `b${i}`);
  const solutions = await Promise.all(buyers.map((u) => proof(s.base, 'easy', u)));
  const one = await timed(() => fetchChallenge(s.base, 'heavy', 'probe'));
  t.equal(one.value.status, 200);
  const quiet = await timed(() => buy(s.base, 'easy', 'b0', withAltcha(solutions[0] as string)));
  t.equal(quiet.value.c, 0, `a buy with a fresh solution, quiet server: ${quiet.ms.toFixed(0)} ms (one heavy challenge: ${one.ms.toFixed(0)} ms)`);
  // One user asks for 300 challenges at once (SECKILL_USER_RATE is off by default): one at a time is made, the rest hear 5.
  const one300 = await floodWhileBuying(t, s, () => 'mallory', solutions.slice(1, 4), buyers.slice(1, 4));
  t.ok((one300[200] ?? 0) <= 10 && (one300[200] ?? 0) + (one300[429] ?? 0) === 300, `one user's flood: one challenge at a time made, the others 429 at once (${JSON.stringify(one300)})`);
  // 300 accounts at once: a few derive at a time, the rest wait their turn; the buyers' checks still have threads.
  const many = await floodWhileBuying(t, s, (i) => `m${i}`, solutions.slice(4), buyers.slice(4));
  t.same(many, { 200: 300 }, 'many accounts: every challenge made, in turn');
  const c = await fetchChallenge(s.base, 'heavy', 'mallory');
  t.equal(c.status, 200, 'a user whose challenge is made may ask again');
});
