import { once } from 'node:events';
import net from 'node:net';
import t, { type Test } from 'tap';
import { SECRET } from './helpers/app';
import { runCli, type CliRun } from './helpers/run-cli';
import { tempDir } from './helpers/services';

/**
 * A start that fails says why in its last line, naming the setting and the
 * address, whatever the cause: real `seckill serve` processes against
 * addresses where nothing, something silent, or something else listens.
 * Each run is bounded: a start that hangs fails the test instead.
 */

/** `seckill serve` (or another command) with a data folder of the test's own, expected to fail at start. */
function run(t: Test, args: string[], env: Record<string, string>, limitMs?: number): Promise<CliRun> {
  return runCli(args, { HOST: '127.0.0.1', PORT: '0', SECKILL_JWT_SECRET: SECRET, SECKILL_DATA_DIR: tempDir(t), ...env }, limitMs);
}

/** A listening socket that takes connections and never says a word (a hung server, or a firewall that accepts). */
async function silentServer(t: Test): Promise<number> {
  const sockets = new Set<net.Socket>();
  const s = net.createServer((c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const c of sockets) c.destroy();
    s.close();
  });
  return (s.address() as net.AddressInfo).port;
}

/** A port that answers like a web server: not Redis, not MySQL. */
async function httpServer(t: Test): Promise<number> {
  const s = net.createServer((c) => c.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(() => s.close());
  return (s.address() as net.AddressInfo).port;
}

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function failsWith(t: Test, r: CliRun, message: RegExp, what: string): void {
  t.equal(r.code, 1, `${what}: exit 1`);
  t.equal(r.last.level, 'fatal', `${what}: the last line is the fatal one`);
  t.match(r.last.msg, message, `${what}: ${r.last.msg}`);
  t.notMatch(r.stderr, /^\s+at /m, `${what}: no stack anywhere in the log`);
  t.notOk('err' in r.last, `${what}: the fatal line carries no error object (no stack)`);
}

t.test('MySQL: the start-up error names MYSQL_URL, the address (no password) and the reason', async (t) => {
  const closed = await closedPort();
  const silent = await silentServer(t);
  const web = await httpServer(t);
  const cases: [string, string, RegExp][] = [
    ['refused', `mysql://shop:s3cret@127.0.0.1:${closed}/shop`, new RegExp(`^cannot reach MySQL at mysql://shop@127\\.0\\.0\\.1:${closed}/shop \\(MYSQL_URL\\): connection refused \\(ECONNREFUSED\\)`)],
    ['no such socket', 'mysql://root@localhost/shop?socketPath=/nonexistent/mysqld.sock', /^cannot reach MySQL at mysql:\/\/root@localhost\/shop\?socketPath=\/nonexistent\/mysqld\.sock \(MYSQL_URL\): no such socket file \(ENOENT\)/],
    ['no such host', 'mysql://shop:s3cret@no-such-host.invalid/shop', /^cannot reach MySQL at mysql:\/\/shop@no-such-host\.invalid\/shop \(MYSQL_URL\): no such host \(ENOTFOUND\)/],
    ['silent: a timeout', `mysql://shop:s3cret@127.0.0.1:${silent}/shop`, new RegExp(`^cannot reach MySQL at mysql://shop@127\\.0\\.0\\.1:${silent}/shop \\(MYSQL_URL\\): no answer within 700 ms \\(ETIMEDOUT; SECKILL_MYSQL_TIMEOUT_MS\\)`)],
    ['not MySQL', `mysql://shop:s3cret@127.0.0.1:${web}/shop`, new RegExp(`^cannot reach MySQL at mysql://shop@127\\.0\\.0\\.1:${web}/shop \\(MYSQL_URL\\): .*PROTOCOL_CONNECTION_LOST`)],
  ];
  // The local redis-server starts (no REDIS_URL) and is stopped again when MySQL fails.
  for (const [what, url, message] of cases) {
    const r = await run(t, ['serve'], { MYSQL_URL: url, REDIS_URL: '', SECKILL_MYSQL_TIMEOUT_MS: '700' });
    failsWith(t, r, message, what);
    t.notMatch(r.stderr, /s3cret/, `${what}: the password is not logged`);
  }
});

t.test('Redis: REDIS_URL without a scheme gets a hint, none is refused, and the real reason survives', async (t) => {
  const closed = await closedPort();
  const silent = await silentServer(t);
  const web = await httpServer(t);
  const cases: [string, string, RegExp][] = [
    ['host:port', 'localhost:6379', /^REDIS_URL must be redis:\/\/…, rediss:\/\/… or a unix socket path \(\/…\): write redis:\/\/localhost:6379$/],
    ['none', 'none', /^REDIS_URL=none: seckill needs Redis .*leave REDIS_URL empty to start a local redis-server$/],
    ['refused', `redis://127.0.0.1:${closed}`, new RegExp(`^cannot reach Redis at redis://127\\.0\\.0\\.1:${closed} \\(REDIS_URL\\): connection refused \\(ECONNREFUSED\\)`)],
    ['no such host', 'redis://no-such-host.invalid:6379', /^cannot reach Redis at redis:\/\/no-such-host\.invalid:6379 \(REDIS_URL\): no such host \(ENOTFOUND\)$/],
    ['no such socket', '/nonexistent/redis.sock', /^cannot reach Redis at \/nonexistent\/redis\.sock \(REDIS_URL\): no such socket file \(ENOENT\)$/],
    ['silent: a timeout', `redis://127.0.0.1:${silent}`, /\(REDIS_URL\): connected, but no answer within 300 ms \(SECKILL_REDIS_TIMEOUT_MS\)/],
    ['not Redis', `redis://127.0.0.1:${web}`, /\(REDIS_URL\): what answers there is not a Redis server \(Protocol error/],
  ];
  for (const [what, url, message] of cases) {
    const r = await run(t, ['serve'], { REDIS_URL: url, MYSQL_URL: 'none', SECKILL_REDIS_TIMEOUT_MS: '300' });
    failsWith(t, r, message, what);
    t.notMatch(r.last.msg, /Connection is closed/, `${what}: not just "Connection is closed."`);
  }
  // The standalone tools connect the same way.
  const p = await run(t, ['persister'], { REDIS_URL: `redis://127.0.0.1:${closed}`, MYSQL_URL: 'mysql://u@127.0.0.1:1/x' });
  failsWith(t, p, /^cannot reach Redis at .*\(REDIS_URL\): connection refused \(ECONNREFUSED\)/, 'seckill persister');
});

t.test('a fatal line has no stack; SECKILL_LOG_LEVEL=debug logs it in the line before', async (t) => {
  const closed = await closedPort();
  const env = { MYSQL_URL: `mysql://u@127.0.0.1:${closed}/x`, REDIS_URL: '' };
  const quiet = await run(t, ['serve'], env);
  t.equal(quiet.last.code, 'ECONNREFUSED', 'the fatal line keeps the error code');
  t.notMatch(quiet.stderr, /"stack"/, 'no stack at the default level');
  const debug = await run(t, ['serve'], { ...env, SECKILL_LOG_LEVEL: 'debug' });
  const lines = debug.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; err?: { stack?: string } });
  const fatal = lines[lines.length - 1]!;
  const before = lines[lines.length - 2]!;
  t.equal(fatal.level, 'fatal');
  t.notOk('err' in fatal, 'the fatal line itself has none');
  t.equal(before.level, 'debug', 'the line before is at debug level');
  t.equal(before.msg, `the stack of: ${fatal.msg}`);
  t.match(before.err?.stack, /\n\s+at /, 'and carries the stack');
});

t.test('port in use: the last line says "address in use", with one process and with two workers', async (t) => {
  const other = net.createServer();
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => other.close(r)));
  const port = (other.address() as net.AddressInfo).port;
  for (const workers of ['1', '2']) {
    const r = await run(t, ['serve'], { PORT: String(port), SECKILL_WORKERS: workers, REDIS_URL: '', MYSQL_URL: 'none' }, 30_000);
    failsWith(t, r, new RegExp(`^address in use: cannot listen on 127\\.0\\.0\\.1:${port}\\b`), `SECKILL_WORKERS=${workers}`);
    t.notMatch(r.last.msg, /exited before listening/, `SECKILL_WORKERS=${workers}: the reason, not the symptom`);
    if (workers === '2') t.match(r.stderr, /"worker":0[^\n]*"msg":"worker failed to start: address in use: /, "the worker's own line says it too");
  }
});
