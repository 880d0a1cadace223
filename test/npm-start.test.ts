import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { LISTENING, watchForPort } from '../bench/procs';
import { isAlive } from '../src/services/local-service';
import { tempDir } from './helpers/services';
import { until } from './helpers/wait';

const ROOT = path.join(__dirname, '..');
const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

t.test('npm start builds only a stale dist/, then execs the demo server; npm run demo is gone', async (t) => {
  t.equal(scripts.start, 'node scripts/build-if-stale.js && exec node dist/src/cli.js serve --demo');
  t.match(scripts.start, /&& exec node [^&]*$/, 'the shell npm starts is replaced by node, so npm signals node itself');
  t.equal(scripts.demo, undefined, 'no demo script: npm start starts at once when dist/ is current');
});

/** Runs a node script to its end, bounded. */
function node(args: string[], cwd = ROOT): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

t.test('build-if-stale: builds a dist/ that is missing or older than a source, and nothing else', async (t) => {
  const root = tempDir(t);
  fs.mkdirSync(path.join(root, 'src'));
  fs.writeFileSync(path.join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions: { outDir: 'dist', rootDir: '.', module: 'commonjs', target: 'ES2022', types: [] }, include: ['src/**/*.ts'] }));
  fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'export const a = 1;\n');
  const script = path.join(ROOT, 'scripts', 'build-if-stale.js');
  const built = path.join(root, 'dist', 'src', 'a.js');

  const first = node([script, root]);
  t.same([first.code, first.out.trim()], [0, 'building: src/a.ts is not built'], 'no dist/: it builds');
  t.ok(fs.existsSync(built), 'dist/src/a.js is there');
  const before = fs.statSync(built).mtimeMs;
  const again = node([script, root]);
  t.same([again.code, again.out], [0, ''], 'dist/ current: nothing to do, nothing said');
  t.equal(fs.statSync(built).mtimeMs, before, 'and nothing rewritten');

  // The output older than its source (as after a source is saved, or a git pull).
  const earlier = new Date(fs.statSync(path.join(root, 'src', 'a.ts')).mtimeMs - 60_000);
  fs.utimesSync(built, earlier, earlier);
  const changed = node([script, root]);
  t.same([changed.code, changed.out.trim()], [0, 'building: src/a.ts changed since the build'], 'a source newer than its output: it builds again');
  fs.writeFileSync(path.join(root, 'src', 'b.ts'), 'export const b = 2;\n');
  t.equal(node([script, root]).out.trim(), 'building: src/b.ts is not built', 'a new source: it builds');
  fs.writeFileSync(path.join(root, 'src', 'bad.ts'), 'export const c: number = "x";\n');
  t.not(node([script, root]).code, 0, 'a failed build fails npm start before the server');
});

t.test('npx seckill in a checkout: says to build when dist/ is missing, runs the CLI when it is there', async (t) => {
  // A fixed folder: npx keeps one cache entry per folder (~/.npm/_npx), made on its first run.
  const bare = path.join(os.tmpdir(), 'seckill-npx-shim');
  fs.rmSync(bare, { recursive: true, force: true });
  fs.mkdirSync(bare);
  for (const f of ['package.json', 'bin', 'scripts']) fs.cpSync(path.join(ROOT, f), path.join(bare, f), { recursive: true });
  const npx = spawnSync('npx', ['--offline', 'seckill', '--version'], { cwd: bare, encoding: 'utf8', timeout: 60_000 });
  t.equal(npx.status, 1, 'right after npm ci (no dist/): exit 1');
  t.match(npx.stderr, /^seckill: not built yet: run `npm run build` \(or `npm start`, which builds first\)/, 'and it says what to run');
  const built = node([path.join(ROOT, 'bin', 'seckill.js'), '--version']);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
  t.same([built.code, built.out.trim()], [0, `seckill ${pkg.version} (node ${process.version})`], 'built: the shim runs the CLI');
  t.equal(pkg.bin.seckill, 'bin/seckill.js', 'the shim is the package command');
});

t.test('SIGTERM to npm stops node, redis-server and mariadbd', async (t) => {
  const dataDir = tempDir(t);
  // dist/ is current (npm test built it): npm start starts the server without a build.
  const npm = spawn('npm', ['start', '-s'], {
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
