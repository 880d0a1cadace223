import fs from 'node:fs';
import t, { type Test } from 'tap';
import { childPids } from '../bench/servers';
import { ADMIN, buy, putEvent, SECRET } from './helpers/app';
import { spawnServer, type ServerProcess } from './helpers/process';
import { tempDir, testRedis } from './helpers/services';
import { until } from './helpers/wait';

/** The worker processes of a server (its children running the worker entry). */
function workerPids(server: ServerProcess): number[] {
  return childPids(server.child.pid ?? 0);
}

function lines(server: ServerProcess, msg: RegExp): number {
  return server.output().split('\n').filter((l) => msg.test(l)).length;
}

async function health(base: string): Promise<{ workers?: { restarts: number } }> {
  return (await (await fetch(`${base}/healthz`, { headers: { connection: 'close' } })).json()) as { workers?: { restarts: number } };
}

async function twoWorkers(t: Test, env: Record<string, string> = {}): Promise<ServerProcess> {
  return spawnServer(t, { SECKILL_DATA_DIR: tempDir(t), SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, MYSQL_URL: 'none', SECKILL_WORKERS: '2', ...env });
}

t.test('a worker that keeps failing to start: one restart at a time, with a growing wait, and no process left over', async (t) => {
  const redis = await testRedis(t);
  const s = await twoWorkers(t, { REDIS_URL: redis.socket });
  t.equal((await putEvent(s.base, 'bk', { stock: 10 })).status, 201);
  // Redis's socket moved away: a restarted worker cannot connect and exits at start; the connections made go on.
  const away = `${redis.socket}.away`;
  fs.renameSync(redis.socket, away);
  t.teardown(() => fs.existsSync(away) && fs.renameSync(away, redis.socket));
  const [victim, survivor] = workerPids(s);
  process.kill(victim!, 'SIGKILL');
  const most: number[] = [];
  const watchFrom = Date.now();
  while (Date.now() - watchFrom < 12_000) {
    most.push(workerPids(s).length);
    await new Promise((r) => setTimeout(r, 50));
  }
  const failed = lines(s, /worker failed to start/);
  t.comment(`in 12 s: ${failed} failed starts, at most ${Math.max(...most)} worker processes at once`);
  // 0.8 s, then 1.6, 3.2, 5, 5: five attempts at most in 12 s (each also takes its own start time).
  t.ok(failed >= 2 && failed <= 5, `restarts back off (${failed} failed starts in 12 s)`);
  t.ok(Math.max(...most) <= 2, `never more than two worker processes (${Math.max(...most)})`);
  t.ok(workerPids(s).includes(survivor!), 'the other worker serves on');
  t.equal((await buy(s.base, 'bk', 'during')).c, 0, 'the server sells meanwhile');

  fs.renameSync(away, redis.socket);
  await until(() => /worker restarted/.test(s.output()), 'the worker comes back once Redis can be reached again', 10_000, 50);
  await new Promise((r) => setTimeout(r, 6_000));
  t.equal(workerPids(s).length, 2, 'two worker processes, no more');
  t.equal(lines(s, /"msg":"worker restarted"/), 1, 'restarted once');
  s.child.kill('SIGTERM');
  t.equal(await s.exited, 0, 'a clean stop');
});

t.test('a worker killed while MySQL is stalled comes back at once: buys do not need MySQL', async (t) => {
  const dir = tempDir(t);
  const s = await spawnServer(t, { SECKILL_DATA_DIR: dir, SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, SECKILL_WORKERS: '2', SECKILL_MYSQL_TIMEOUT_MS: '1000' });
  t.equal((await putEvent(s.base, 'ms', { stock: 100 })).status, 201);
  const mariadbd = Number(fs.readFileSync(`${dir}/mariadb/mysqld.pid`, 'utf8'));
  process.kill(mariadbd, 'SIGSTOP');
  t.teardown(() => {
    try {
      process.kill(mariadbd, 'SIGCONT');
    } catch {
      // gone
    }
  });
  const [victim] = workerPids(s);
  process.kill(victim!, 'SIGKILL');
  const killedAt = Date.now();
  await until(() => /worker restarted/.test(s.output()), 'the worker is restarted while MySQL is stalled', 8_000, 20);
  t.comment(`restarted ${Date.now() - killedAt} ms after the kill; ${lines(s, /worker failed to start/)} failed start(s)`);
  t.equal(lines(s, /worker failed to start/), 0, 'its start did not wait on MySQL');
  t.equal(workerPids(s).length, 2);
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => buy(s.base, 'ms', `m${i}`, { headers: { connection: 'close' } })));
  t.ok(answers.every((a) => a.c === 0), 'both workers sell through the MySQL stall');
  process.kill(mariadbd, 'SIGCONT');
  s.child.kill('SIGTERM');
  t.equal(await s.exited, 0, 'a clean stop once MySQL answers again');
});
