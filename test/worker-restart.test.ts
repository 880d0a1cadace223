import t from 'tap';
import { childPids } from '../bench/servers';
import { ADMIN, SECRET } from './helpers/app';
import { spawnServer } from './helpers/process';
import { tempDir, testRedis } from './helpers/services';
import { until } from './helpers/wait';

/** The primary's supervision of its workers under the faults test/fault-crowd.test.ts injects (where these were found). */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// A worker that died before it listened was restarted twice (by its exit and by its failed start), so one death
// left three workers where two were asked for, and every failed start added another.
t.test('a worker that dies before it listens is restarted once: never more workers than SECKILL_WORKERS', async (t) => {
  const redis = await testRedis(t);
  const s = await spawnServer(t, {
    SECKILL_DATA_DIR: tempDir(t),
    REDIS_URL: redis.socket,
    MYSQL_URL: 'none',
    SECKILL_JWT_SECRET: SECRET,
    SECKILL_ADMIN_TOKEN: ADMIN,
    SECKILL_WORKERS: '2',
    SECKILL_REDIS_TIMEOUT_MS: '300',
  });
  const workers = (): number[] => childPids(s.child.pid ?? 0);
  const [victim, survivor] = workers();
  process.kill(redis.pid, 'SIGSTOP');
  let resumed = false;
  t.teardown(() => {
    if (!resumed) process.kill(redis.pid, 'SIGCONT');
  });
  process.kill(victim!, 'SIGKILL');
  // Its replacement cannot start while Redis does not answer; once Redis is back, that start fails and the worker exits.
  await until(() => workers().some((p) => p !== survivor), 'a replacement is started', 10_000, 20);
  await sleep(2_500);
  process.kill(redis.pid, 'SIGCONT');
  resumed = true;
  await until(() => /"worker":0,"restarts":\d+,"msg":"worker restarted"/.test(s.output()), 'worker 0 listens again', 20_000, 20);
  const exits = (s.output().match(/"msg":"worker exited: restarting it"/g) ?? []).length;
  t.ok(exits >= 1 && exits <= 2, `killed, and its replacement started or failed once (${exits} exits)`);
  // A second restart would come within the longest backoff.
  await sleep(5_500);
  t.equal(workers().length, 2, `two workers (${workers().join(', ')})`);
  t.equal(s.output().match(/"msg":"worker restarted"/g)?.length, 1, 'one "worker restarted" for one death');
  const health = (await (await fetch(`${s.base}/healthz`, { headers: { connection: 'close' } })).json()) as { workers?: { restarts: number } };
  t.equal(health.workers?.restarts, exits, 'one restart attempt per exit');
});

// The primary told its workers of a restart while one of them had just died (its end of
// the channel closed, the primary not yet told): the write failed with EPIPE, an 'error' event nobody listened to,
// and the primary crashed, taking every worker with it.
t.test('a worker dying while the primary writes to it does not crash the primary', async (t) => {
  const redis = await testRedis(t);
  const s = await spawnServer(t, { SECKILL_DATA_DIR: tempDir(t), REDIS_URL: redis.socket, MYSQL_URL: 'none', SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, SECKILL_WORKERS: '2' });
  const primary = s.child.pid ?? 0;
  const workers = (): number[] => childPids(primary);
  const [a, b] = workers();
  let stopped = false;
  t.teardown(() => {
    if (stopped) process.kill(primary, 'SIGCONT');
  });
  process.kill(a!, 'SIGKILL');
  await until(() => workers().some((p) => p !== a && p !== b), 'a replacement is started', 10_000, 5);
  // The replacement says "listening" while the primary sleeps; b dies after that, so the primary reads the message first
  // and tells every worker of the restart, b included, before it hears b is gone.
  process.kill(primary, 'SIGSTOP');
  stopped = true;
  await sleep(3_000);
  process.kill(b!, 'SIGKILL');
  await sleep(100);
  process.kill(primary, 'SIGCONT');
  stopped = false;
  await sleep(1_500);
  t.equal(s.child.exitCode ?? s.child.signalCode, null, `the primary runs${/EPIPE/.test(s.output()) ? ' (it crashed on EPIPE)' : ''}`);
  await until(() => workers().length === 2, 'b is restarted too', 10_000, 20);
  t.equal((await fetch(`${s.base}/healthz`, { headers: { connection: 'close' } })).status, 200, 'and the server answers');
});
