import fs from 'node:fs';
import t from 'tap';
import { childPids } from '../bench/servers';
import { ADMIN, buy, openEvent, SECRET } from './helpers/app';
import { spawnServer } from './helpers/process';
import { tempDir, testRedis } from './helpers/services';
import { until } from './helpers/wait';

/**
 * The admin stats' `outcomes` sum every process's published counts, and a
 * process that died keeps its last publication (src/metrics/fleet-counts.ts).
 * A restarted worker took its predecessor's process id (`<instance>/w<index>`):
 * its first publication overwrote the dead one's counts, and until then the
 * stats it answered skipped that row as its own. The answers the dead worker
 * gave vanished from the totals (found by fault injection: clients told
 * "won" 4,400 times, the stats said 2,328).
 */

const CLOSE = { headers: { connection: 'close' } };

async function won(base: string, event: string): Promise<number> {
  const res = await fetch(`${base}/admin/events/${event}`, { headers: { authorization: `Bearer ${ADMIN}`, connection: 'close' } });
  return ((await res.json()) as { outcomes: { won: number } }).outcomes.won;
}

/** Every answer of a few stats requests (each on its own connection, so both workers answer some). */
async function wonEverywhere(base: string, event: string): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < 8; i++) seen.push(await won(base, event));
  return seen;
}

function workerPid(primary: number, index: number): number | undefined {
  return childPids(primary).find((pid) => fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`"index":${index},`));
}

t.test('a killed worker\'s answers stay in the outcome totals after its replacement answers and publishes', async (t) => {
  const redis = await testRedis(t);
  const s = await spawnServer(t, { SECKILL_DATA_DIR: tempDir(t), REDIS_URL: redis.socket, MYSQL_URL: 'none', SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, SECKILL_WORKERS: '2' });
  await openEvent(t, s.base, 'sale', 1000);
  const primary = s.child.pid ?? 0;
  const answered = async (prefix: string, n: number): Promise<number> => {
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => buy(s.base, 'sale', `${prefix}${i}`, CLOSE)));
    return answers.filter((a) => a.c === 0).length;
  };
  const first = await answered('a', 60);
  t.equal(first, 60, 'the first 60 buyers are told "won"');
  await until(async () => (await wonEverywhere(s.base, 'sale')).every((n) => n === 60), 'the stats say 60 won, whichever worker answers', 5_000, 100);
  const victim = workerPid(primary, 0);
  t.ok(victim, 'worker 0 found');
  process.kill(victim!, 'SIGKILL');
  await until(() => /"worker":0,"restarts":1,"msg":"worker restarted"/.test(s.output()), 'worker 0 restarted', 15_000, 20);
  const second = await answered('b', 60);
  t.equal(second, 60, 'the next 60 buyers are told "won" (both workers answer some)');
  // Published about once a second: a few seconds after the load, every worker's stats say 120.
  await new Promise((r) => setTimeout(r, 2_500));
  const seen = await wonEverywhere(s.base, 'sale');
  t.same(seen, seen.map(() => 120), `the stats say 120 won, whichever worker answers (${seen.join(', ')})`);
  // The dead worker's row stays (its answers count) but is not live: the capacity is the server's, not one worker's more.
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${s.base}/admin/events/sale`, { headers: { authorization: `Bearer ${ADMIN}`, connection: 'close' } });
    const stats = (await res.json()) as { queue: { capacity: number }; processes: { id: string; state: string }[] };
    t.equal(stats.queue.capacity, 50_000, 'queue.capacity is SECKILL_QUEUE_CAPACITY');
    t.same(stats.processes.map((p) => p.state).sort(), ['gone', 'live', 'live'], `a gone row and two live ones (${stats.processes.map((p) => `${p.id}:${p.state}`).join(', ')})`);
  }
});
