import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { LISTENING, watchForPort } from '../bench/procs';
import { isAlive } from '../src/services/local-service';
import { tempDir } from './helpers/services';
import { until } from './helpers/wait';

const ROOT = path.join(__dirname, '..');
const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

t.test('npm start ends by exec-ing the demo server, as npm run demo does', async (t) => {
  t.equal(scripts.start, `npm run -s build && ${scripts.demo}`);
  t.match(scripts.demo, /^exec node /, 'the shell npm starts is replaced by node, so npm signals node itself');
});

t.test('SIGTERM to npm stops node, redis-server and mariadbd', async (t) => {
  const dataDir = tempDir(t);
  // `npm run demo` is `npm start` without the build (rebuilding dist/ here would race the other test files).
  const npm = spawn('npm', ['run', '-s', 'demo'], {
    cwd: ROOT,
    env: { ...process.env, SECKILL_DATA_DIR: dataDir, PORT: '0', HOST: '', REDIS_URL: '', MYSQL_URL: '', SECKILL_JWT_SECRET: '', SECKILL_ADMIN_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(npm, 'exit');
  t.teardown(() => {
    if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
  });
  const { port, output } = watchForPort(npm, exited, LISTENING);
  await port;
  await until(() => /curl -s -X POST/.test(output()), 'the demo banner', 30_000, 20);
  const nodePid = Number(/"pid":(\d+)[^\n]*"msg":"listening"/.exec(output())?.[1]);
  const pidOf = (file: string): number => Number(fs.readFileSync(path.join(dataDir, file), 'utf8').trim());
  const pids = { node: nodePid, 'redis-server': pidOf('redis/redis.pid'), mariadbd: pidOf('mariadb/mysqld.pid') };
  for (const [name, pid] of Object.entries(pids)) t.ok(pid > 0 && isAlive(pid), `${name} (${pid}) runs`);
  // Should this test fail, leave no orphan behind: node first (it stops the services it started).
  t.teardown(async () => {
    if (isAlive(nodePid)) process.kill(nodePid, 'SIGTERM');
    await until(() => !isAlive(nodePid), 'node gone', 30_000, 50).catch(() => undefined);
    for (const pid of Object.values(pids)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  t.not(nodePid, npm.pid, 'node is a process of its own under npm');

  npm.kill('SIGTERM');
  await exited;
  await until(() => Object.values(pids).every((pid) => !isAlive(pid)), 'every process of the tree has exited', 30_000, 50);
  for (const [name, pid] of Object.entries(pids)) t.notOk(isAlive(pid), `${name} stopped`);
  t.match(output(), /"msg":"stopped"/, 'node stopped gracefully');
});
