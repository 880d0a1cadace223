import t, { type Test } from 'tap';
import { SECRET, token } from './helpers/app';
import { spawnServer } from './helpers/process';
import { testMysql, testRedis } from './helpers/services';
import { until } from './helpers/wait';

/** A probe as an orchestrator sends it: given up after `ms` (Docker's HEALTHCHECK allows 3 s; we ask for 1). */
async function probe(base: string, path: string, ms = 1_000): Promise<{ status: number; body: Record<string, unknown> }> {
  const started = Date.now();
  const res = await fetch(base + path, { signal: AbortSignal.timeout(ms) }).catch((err: unknown) => {
    throw new Error(`${path} did not answer within ${ms} ms (${Date.now() - started} ms): ${(err as Error).message}`);
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface Dependency {
  state: 'ok' | 'failing' | 'stalled';
  lastOkMs: number | null;
}

/** SIGSTOP leaves a process that holds its sockets and never answers: a hung dependency, not a lost one. */
function freeze(t: Test, pid: number): void {
  process.kill(pid, 'SIGSTOP');
  t.teardown(() => thaw(pid));
}

function thaw(pid: number): void {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // Already gone.
  }
}

t.test('/healthz answers at once from what it remembers while MySQL is hung', async (t) => {
  const [redis, db] = await Promise.all([testRedis(t), testMysql(t)]);
  const s = await spawnServer(t, { SECKILL_JWT_SECRET: SECRET, REDIS_URL: redis.socket, MYSQL_URL: db.url });
  const before = await probe(s.base, '/healthz');
  t.match(before, { status: 200, body: { ok: true, redis: true, mysql: true, dependencies: { redis: { state: 'ok' }, mysql: { state: 'ok' } } } }, 'both answer');

  freeze(t, db.pid);
  const frozenAt = Date.now();
  let last = before;
  const statuses = new Set<number>();
  // Each probe must answer within 1 s (probe() throws otherwise), from the first one after the freeze on.
  await until(async () => {
    last = await probe(s.base, '/healthz');
    statuses.add(last.status);
    const mysql = (last.body.dependencies as Record<string, Dependency>).mysql;
    return last.body.mysql === false && (mysql?.state === 'stalled' || mysql?.state === 'failing');
  }, '/healthz reports MySQL hung', 10_000, 50);
  t.comment(`reported hung after ${Date.now() - frozenAt} ms: ${JSON.stringify(last.body)}`);
  t.same([...statuses], [200], 'every probe answered 200 within 1 s');
  const deps = last.body.dependencies as Record<string, Dependency>;
  t.ok((deps.mysql?.lastOkMs ?? 0) > 0, 'with the age of its last success');
  t.match(deps.redis, { state: 'ok' }, 'Redis still answers');
  t.equal(last.body.redis, true);
  t.equal((await probe(s.base, '/readyz')).status, 200, 'ready: MySQL is not needed to sell');
  const buy = await fetch(`${s.base}/events/none/buy`, { method: 'POST', headers: { authorization: `Bearer ${token('u')}` }, signal: AbortSignal.timeout(1_000) });
  t.equal(buy.status, 404, 'the front answers too');

  thaw(db.pid);
  await until(async () => (await probe(s.base, '/healthz')).body.mysql === true, '/healthz reports MySQL back', 30_000, 50);
});

t.test('/readyz turns 503 while Redis is hung, 200 again once it answers', async (t) => {
  const redis = await testRedis(t);
  const timeoutMs = 500;
  // One process: readiness is each worker's own view, and a second request may reach the other worker.
  const s = await spawnServer(t, { SECKILL_JWT_SECRET: SECRET, REDIS_URL: redis.socket, MYSQL_URL: 'none', SECKILL_REDIS_TIMEOUT_MS: String(timeoutMs), SECKILL_WORKERS: '1' });
  t.match(await probe(s.base, '/readyz'), { status: 200, body: { ok: true, accepting: true, redis: true } }, 'ready');

  freeze(t, redis.pid);
  const frozenAt = Date.now();
  // A PING every timeout / 2; not ready once none has answered for 2 × timeout + that interval (1250 ms here).
  // The bound, 4 × timeout + 1 s, leaves room for a slow runner.
  await until(async () => (await probe(s.base, '/readyz')).status === 503, '/readyz 503 with Redis hung', 4 * timeoutMs + 1_000, 20);
  const notReady = Date.now() - frozenAt;
  t.comment(`503 after ${notReady} ms`);
  t.ok(notReady <= 4 * timeoutMs + 1_000, `not ready within ${4 * timeoutMs + 1_000} ms`);
  const down = await probe(s.base, '/readyz');
  t.match(down, { status: 503, body: { ok: false, accepting: true, redis: false } }, 'it says Redis');
  const health = await probe(s.base, '/healthz');
  t.equal(health.status, 200, 'still live: a restart would not unfreeze Redis');
  t.equal(health.body.redis, false);
  t.match((health.body.dependencies as Record<string, Dependency>).redis, { state: /^(stalled|failing)$/ }, '/healthz says how');

  thaw(redis.pid);
  const thawedAt = Date.now();
  await until(async () => (await probe(s.base, '/readyz')).status === 200, '/readyz 200 once Redis answers', 4 * timeoutMs + 1_000, 20);
  t.comment(`200 again after ${Date.now() - thawedAt} ms`);
  t.match(await probe(s.base, '/healthz'), { status: 200, body: { redis: true, dependencies: { redis: { state: 'ok' } } } });
});
