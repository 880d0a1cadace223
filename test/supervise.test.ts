import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { prettyLine } from '../src/log-pretty';
import { isAlive } from '../src/services/local-service';
import { ADMIN, SECRET, token } from './helpers/app';
import { CLI, spawnServer } from './helpers/process';
import { tempDir, testRedis } from './helpers/services';
import { until } from './helpers/wait';

interface Health {
  ok: boolean;
  redis: boolean;
  mysql?: boolean;
  services: Record<string, { up: boolean; restarts: number }>;
}

t.test('a local redis-server or mariadbd that dies is restarted, logged, and shown in /healthz', async (t) => {
  const dataDir = tempDir(t);
  const s = await spawnServer(t, { SECKILL_DATA_DIR: dataDir, SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, REDIS_URL: '', MYSQL_URL: '' });
  const health = async (): Promise<Health> => (await (await fetch(`${s.base}/healthz`)).json()) as Health;
  const buy = async (user: string): Promise<number> =>
    ((await (await fetch(`${s.base}/events/sup/buy`, { method: 'POST', headers: { authorization: `Bearer ${token(user)}` } })).json()) as { c: number }).c;
  const now = Date.now();
  const put = await fetch(`${s.base}/admin/events/sup`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify({ stock: 1000, start: now - 1000, end: now + 3_600_000 }),
  });
  t.equal(put.status, 201);
  t.same((await health()).services, { 'redis-server': { up: true, restarts: 0 }, mariadbd: { up: true, restarts: 0 } });

  const pidOf = (file: string): number => Number(fs.readFileSync(path.join(dataDir, file), 'utf8').trim());
  const redisPid = pidOf('redis/redis.pid');
  process.kill(redisPid, 'SIGKILL');
  // Buys while it is away: each fails with a connection error the log must not repeat.
  const during: number[] = [];
  await until(async () => {
    during.push(await buy(`d${during.length}`));
    const h = await health();
    return h.services['redis-server']?.restarts === 1 && h.services['redis-server'].up && h.redis;
  }, 'redis-server restarted and reconnected', 30_000, 20);
  t.not(pidOf('redis/redis.pid'), redisPid, 'a new redis-server');
  t.ok(during.every((c) => c === 0 || c === 10), 'buys in the gap: won or unavailable (10)');
  await until(async () => (await buy('after-redis')) === 0, 'sells again', 10_000, 50);

  const mariadbPid = pidOf('mariadb/mysqld.pid');
  process.kill(mariadbPid, 'SIGKILL');
  await until(async () => {
    const h = await health();
    return h.services.mariadbd?.restarts === 1 && h.services.mariadbd.up && h.mysql === true;
  }, 'mariadbd restarted', 60_000, 100);
  t.ok(isAlive(pidOf('mariadb/mysqld.pid')), 'a new mariadbd runs');

  const lines = s.output().split('\n').filter((l) => l.startsWith('{'));
  const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  const n = (m: string): number => msgs.filter((x) => x === m).length;
  t.equal(n('local redis-server exited: restarting'), 1, 'the exit is logged');
  t.equal(n('local redis-server restarted'), 1);
  t.equal(n('local mariadbd exited: restarting'), 1);
  t.equal(n('local mariadbd restarted'), 1);
  // Each process of the server (the primary and each worker) watches its own connections: one line each.
  const perProcess = (m: (msg: string) => boolean): number[] => {
    const by = new Map<number, number>();
    for (const l of lines) {
      const j = JSON.parse(l) as { msg: string; pid: number };
      if (m(j.msg)) by.set(j.pid, (by.get(j.pid) ?? 0) + 1);
    }
    return [...by.values()];
  };
  const lost = perProcess((m) => m.startsWith('redis lost'));
  t.ok(lost.length >= 1 && lost.every((k) => k === 1), `one line when Redis goes, per process (${JSON.stringify(lost)})`);
  const back = perProcess((m) => m === 'redis back');
  t.ok(back.length >= 1 && back.every((k) => k === 1), `one line when it is back, per process (${JSON.stringify(back)})`);
  t.match(lines.find((l) => l.includes('"redis back"')), /"heldBackWarnings":\d+/, 'with a count');
  t.notMatch(s.output(), /Stream isn't writeable/, 'no ioredis internals');
  t.ok(lines.every((l) => (l.match(/"pid":/g) ?? []).length === 1), 'one "pid" per line');
});

t.test('logs on a terminal are readable lines', async (t) => {
  const line = JSON.stringify({ level: 'info', time: '2026-01-02T10:00:01.234Z', pid: 1, hostname: 'h', host: '127.0.0.1', port: 8080, msg: 'listening' });
  t.equal(prettyLine(line), '10:00:01.234 INFO  listening host=127.0.0.1 port=8080\n');
  const err = JSON.stringify({ level: 'error', time: '2026-01-02T10:00:01.234Z', err: { message: 'boom', stack: 'Error: boom\n    at x' }, msg: 'failed' });
  t.equal(prettyLine(err), '10:00:01.234 ERROR failed err=boom\n', 'no stack unless asked for');
  t.equal(prettyLine(err, true), '10:00:01.234 ERROR failed err=boom\nError: boom\n    at x\n');
  t.equal(prettyLine('not json\n'), 'not json\n');

  // The real server with SECKILL_LOG_FORMAT=pretty (what a terminal gets by default).
  const redis = await testRedis(t);
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { ...process.env, SECKILL_LOG_FORMAT: 'pretty', REDIS_URL: redis.socket, MYSQL_URL: 'none', SECKILL_JWT_SECRET: SECRET, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  let out = '';
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
      if (/INFO {2}listening /.test(out)) resolve();
    });
  });
  child.kill('SIGTERM');
  await exited;
  t.match(out, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening host=127\.0\.0\.1 port=\d+/m);
  t.notMatch(out, /^\{/m, 'no JSON');
});
