import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { RowDataPacket } from 'mysql2/promise';
import { LISTENING, watchForPort } from '../bench/procs';
import { isAlive } from '../src/services/local-service';
import { sellOut, testApp } from './helpers/app';
import { CLI } from './helpers/process';
import { tempDir, testMysql } from './helpers/services';
import { until } from './helpers/wait';

/**
 * One signal, one graceful stop: Ctrl-C on `npm start` reaches node twice
 * (the terminal signals the whole foreground group, and npm forwards its own
 * copy), and so does a SIGTERM to the process group. Each must stop the server
 * gracefully (exit 0, "stopped") and leave no redis-server or mariadbd of its
 * data folder running.
 */

const ROOT = path.join(__dirname, '..');
/** What `npm start` runs after its build (building here would race the other test files). */
const DEMO_ENV = { PORT: '0', HOST: '', REDIS_URL: '', MYSQL_URL: '', SECKILL_JWT_SECRET: '', SECKILL_ADMIN_TOKEN: '', SECKILL_LOG_FORMAT: 'json' };

function pidIn(dataDir: string, file: string): number {
  try {
    return Number.parseInt(fs.readFileSync(path.join(dataDir, file), 'utf8'), 10) || 0;
  } catch {
    return 0;
  }
}

/** node (from its "listening" line), and the local services its data folder's pid files name. */
function processesOf(dataDir: string, output: string): Record<string, number> {
  const node = Number(/"pid":(\d+)[^\n]*"msg":"listening"/.exec(output)?.[1] ?? 0);
  return { node, 'redis-server': pidIn(dataDir, 'redis/redis.pid'), mariadbd: pidIn(dataDir, 'mariadb/mysqld.pid') };
}

/** Should a test fail, leave nothing behind: node first (it stops what it started), then the rest. */
function cleanUp(t: Test, pids: () => Record<string, number>): void {
  t.teardown(async () => {
    const { node, ...services } = pids();
    if (node && isAlive(node)) process.kill(node, 'SIGTERM');
    await until(() => !node || !isAlive(node), 'node gone', 30_000, 50).catch(() => undefined);
    for (const pid of Object.values(services)) {
      if (pid && isAlive(pid)) {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      }
    }
  });
}

async function checkStopped(t: Test, pids: Record<string, number>, output: string): Promise<void> {
  await until(() => Object.values(pids).every((pid) => !isAlive(pid)), 'every process of the tree has exited', 30_000, 50).catch(() => undefined);
  for (const [name, pid] of Object.entries(pids)) t.notOk(isAlive(pid), `${name} (${pid}) stopped`);
  t.match(output, /"msg":"stopped"/, 'node stopped gracefully');
  t.notMatch(output, /second signal/, 'the copy of the signal was not taken for a second one');
}

t.test('Ctrl-C on npm start in a terminal: one graceful stop, exit 0, no service left', async (t) => {
  const dir = tempDir(t);
  const dataDir = path.join(dir, 'data');
  const log = path.join(dir, 'out.log');
  const code = path.join(dir, 'code');
  // The shell survives the Ctrl-C (a trap, unlike an ignored signal, is not inherited) to write npm's exit code.
  const script = path.join(dir, 'run.sh');
  const env = Object.entries({ ...DEMO_ENV, SECKILL_DATA_DIR: dataDir }).map(([k, v]) => `export ${k}='${v}'`).join('\n');
  fs.writeFileSync(script, `${env}\ncd '${ROOT}'\ntrap : INT\nnpm start -s > '${log}' 2>&1\necho $? > '${code}'\n`);
  const tmux = ['-L', `sk-test-${process.pid}`];
  execFileSync('tmux', [...tmux, '-f', '/dev/null', 'new-session', '-d', '-s', 'stop', '-x', '200', '-y', '50', `bash ${script}`]);
  t.teardown(() => {
    try {
      execFileSync('tmux', [...tmux, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // already gone with its only session
    }
  });
  const output = (): string => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
  let pids: Record<string, number> = {};
  cleanUp(t, () => pids);
  await until(() => /curl -s -X POST/.test(output()), 'the demo banner', 60_000, 50);
  pids = processesOf(dataDir, output());
  for (const [name, pid] of Object.entries(pids)) t.ok(pid > 0 && isAlive(pid), `${name} (${pid}) runs`);

  execFileSync('tmux', [...tmux, 'send-keys', '-t', 'stop', 'C-c']);
  await until(() => fs.existsSync(code) && fs.readFileSync(code, 'utf8').trim() !== '', 'npm exited', 60_000, 50);
  t.equal(fs.readFileSync(code, 'utf8').trim(), '0', 'npm start exits 0');
  await checkStopped(t, pids, output());
});

t.test('SIGTERM to the process group of npm start (systemd\'s default): one graceful stop, exit 0', async (t) => {
  const dataDir = tempDir(t);
  const npm = spawn('npm', ['start', '-s'], {
    cwd: ROOT,
    env: { ...process.env, ...DEMO_ENV, SECKILL_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = once(npm, 'exit') as Promise<[number | null, string | null]>;
  const { port, output } = watchForPort(npm, exited, LISTENING);
  let pids: Record<string, number> = {};
  cleanUp(t, () => pids);
  await port;
  await until(() => /curl -s -X POST/.test(output()), 'the demo banner', 30_000, 20);
  pids = processesOf(dataDir, output());
  for (const [name, pid] of Object.entries(pids)) t.ok(pid > 0 && isAlive(pid), `${name} (${pid}) runs`);

  process.kill(-npm.pid!, 'SIGTERM');
  const [exitCode, signal] = await exited;
  t.same({ exitCode, signal }, { exitCode: 0, signal: null }, 'npm exits 0');
  await checkStopped(t, pids, output());
});

t.test('seckill persister: Ctrl-C (SIGINT twice, from npm and the terminal) flushes and exits 0', async (t) => {
  const db = await testMysql(t);
  const app = await testApp(t, { mysqlUrl: db.url, persister: false });
  await sellOut(t, app, 'ps', 500, 'p');
  const stored = async (): Promise<number> => {
    const [[r]] = await app.pool!.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM orders WHERE event_id = ?', ['ps']);
    return Number(r?.n);
  };
  // One stream entry per read: the signal comes while most of the sale is still in the stream.
  const env = { REDIS_URL: app.redisSocket, MYSQL_URL: db.url, SECKILL_PERSIST_BATCH: '1', SECKILL_LOG_FORMAT: 'json' };
  const child = spawn(process.execPath, [CLI, 'persister'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => /"msg":"persister running"/.test(out), 'the persister runs', 30_000, 10);
  child.kill('SIGINT');
  // The copy comes a moment later (two signals sent at once may merge into one).
  await new Promise((r) => setTimeout(r, 30));
  child.kill('SIGINT');
  const [exitCode, signal] = await exited;
  t.same({ exitCode, signal }, { exitCode: 0, signal: null }, 'exit 0');
  t.match(out, /"flushed":true[^\n]*"msg":"persister stopped"/, 'flushed before it stopped');
  t.equal(await stored(), 500, 'every order of the sale is in MySQL');
  t.equal(await app.redis.hget('sk:{ps}:meta', 'unpersisted'), '0', 'and none is left to persist');
});
