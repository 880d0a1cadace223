import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { holderOf, takePortLock } from '../src/services/port-lock';
import { dataDirLockFile } from '../src/services/data-dir-lock';
import { uws } from '../src/http/uws';
import { ADMIN, SECRET } from './helpers/app';
import { CLI, spawnServer } from './helpers/process';
import { tempDir } from './helpers/services';

/**
 * No silent sharing: a second seckill process on a port in use, or on a
 * data folder in use, fails at start and names the first; the first goes
 * on as if nothing happened. Real processes throughout.
 */

const base = { SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, HOST: '127.0.0.1' };

/** Runs `seckill serve` expecting it to fail at start: its exit code and output. */
async function failedStart(t: Test, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [CLI, 'serve'], { env: { ...process.env, ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

async function serves(url: string): Promise<boolean> {
  return (await fetch(`${url}/readyz`)).status === 200;
}

t.test('a second server on a port in use fails with "address in use", naming the first', async (t) => {
  // One process: its exclusive listen is what refuses the second (workers are covered below).
  const first = await spawnServer(t, { ...base, REDIS_URL: '', MYSQL_URL: 'none', SECKILL_DATA_DIR: tempDir(t), SECKILL_WORKERS: '1' });
  // PORT=0 lets the first pick one; the second asks for that port explicitly.
  const second = await failedStart(t, { PORT: String(first.port), REDIS_URL: '', MYSQL_URL: 'none', SECKILL_DATA_DIR: tempDir(t) });
  t.equal(second.code, 1, 'the second exits 1');
  t.match(second.output, /address in use/, 'it says "address in use"');
  t.ok(await serves(first.base), 'the first still serves');
  // The first took no port lock (it asked for any port); its exclusive listen alone refused the second.
  t.equal(await holderOf(first.port), undefined, 'no lock on a port chosen by the kernel');

  // SO_REUSEPORT from anyone else (uWS's default listen) cannot join the first one's exclusive socket.
  const joined = await new Promise<boolean>((resolve) =>
    uws.App().listen('127.0.0.1', first.port, (s) => {
      if (s !== false) uws.us_listen_socket_close(s);
      resolve(s !== false);
    }),
  );
  t.equal(joined, false, 'a default (SO_REUSEPORT) uWS listener cannot share its port');
});

t.test('worker processes on PORT=0: the process locks the port it picked, and a second server is refused', async (t) => {
  const first = await spawnServer(t, { ...base, REDIS_URL: '', MYSQL_URL: 'none', SECKILL_DATA_DIR: tempDir(t), SECKILL_WORKERS: '2' });
  t.equal(await holderOf(first.port), first.child.pid, 'the primary holds the lock on the port its workers share');
  const second = await failedStart(t, { PORT: String(first.port), REDIS_URL: '', MYSQL_URL: 'none', SECKILL_DATA_DIR: tempDir(t) });
  t.equal(second.code, 1, 'the second exits 1');
  t.match(second.output, new RegExp(`address in use.*${first.child.pid}`), 'naming the first');
  t.ok(await serves(first.base), 'the first still serves');
});

t.test('with a fixed PORT the process holds the port lock: the refusal names its pid; freed on exit', async (t) => {
  // A free port: bind 0, close, hand it to the server.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));

  const first = await spawnServer(t, { ...base, PORT: String(port), REDIS_URL: '', MYSQL_URL: 'none', SECKILL_DATA_DIR: tempDir(t) });
  t.equal(await holderOf(port), first.child.pid, 'the lock answers with the first server\'s pid');
  await t.rejects(takePortLock(port), new RegExp(`address in use: port ${port} is already served by seckill pid ${first.child.pid}`), 'taking it here fails, naming the holder');
  const second = await failedStart(t, { PORT: String(port), REDIS_URL: '', MYSQL_URL: 'none', SECKILL_DATA_DIR: tempDir(t) });
  t.equal(second.code, 1);
  t.match(second.output, new RegExp(`address in use: port ${port} is already served by seckill pid ${first.child.pid}`), 'the second names the first');
  t.ok(await serves(first.base), 'the first still serves');

  first.child.kill('SIGKILL');
  await first.exited;
  const lock = await takePortLock(port);
  t.pass('the kernel freed the lock when its holder died');
  lock.release();
  const again = await spawnServer(t, { ...base, PORT: String(port), REDIS_URL: '', MYSQL_URL: 'none', SECKILL_DATA_DIR: tempDir(t) });
  t.ok(await serves(again.base), 'a new server takes the port');
});

t.test('a port some other program listens on: seckill fails with "address in use"', async (t) => {
  const other = net.createServer();
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => other.close(r)));
  const port = (other.address() as net.AddressInfo).port;
  const s = await failedStart(t, { PORT: String(port), REDIS_URL: '', MYSQL_URL: 'none', SECKILL_DATA_DIR: tempDir(t) });
  t.equal(s.code, 1);
  t.match(s.output, /address in use: cannot listen on 127\.0\.0\.1:\d+/);
});

t.test('a second server on the same data folder is refused: "data dir in use by pid N"; taken over once the owner is dead', async (t) => {
  const dataDir = tempDir(t);
  const env = { ...base, REDIS_URL: '', MYSQL_URL: 'none', SECKILL_DATA_DIR: dataDir };
  const first = await spawnServer(t, env);
  const redisPid = Number(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8'));
  t.match(fs.readFileSync(dataDirLockFile(dataDir), 'utf8'), new RegExp(`^${first.child.pid}\\b`), 'the lock file holds the owner\'s pid');

  const second = await failedStart(t, env);
  t.equal(second.code, 1, 'the second exits 1');
  t.match(second.output, new RegExp(`data dir \\S+ in use by pid ${first.child.pid}`), 'and names the owner');
  t.ok(await serves(first.base), 'the first still serves');
  t.doesNotThrow(() => process.kill(redisPid, 0), "the first one's redis-server was neither adopted nor stopped");

  // The owner dies without cleaning up: its redis-server stays, its lock file stays.
  first.child.kill('SIGKILL');
  await first.exited;
  t.ok(fs.existsSync(dataDirLockFile(dataDir)), 'a dead owner leaves its lock file');
  const heir = await spawnServer(t, env);
  t.ok(await serves(heir.base), 'a new server takes the folder over');
  t.match(fs.readFileSync(dataDirLockFile(dataDir), 'utf8'), new RegExp(`^${heir.child.pid}\\b`), 'the lock file now names it');
  t.equal(Number(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8')), redisPid, 'and it adopted the redis-server left running');
  heir.child.kill('SIGTERM');
  await heir.exited;
  t.notOk(fs.existsSync(dataDirLockFile(dataDir)), 'a clean stop removes the lock file');
});
