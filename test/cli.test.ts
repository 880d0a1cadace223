import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import net from 'node:net';
import { createDecoder } from 'fast-jwt';
import t from 'tap';
import { parseDuration, parseWhen } from '../src/cli/time';
import { flagName, SETTINGS } from '../src/config';
import { ADMIN, SECRET, testApp } from './helpers/app';
import { CLI } from './helpers/process';
import { tempDir } from './helpers/services';

const run = promisify(execFile);
const decode = createDecoder();

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI with pipes (not a terminal), as a process manager would. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, SECKILL_LOG_FORMAT: '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The same on a terminal (util-linux `script` gives it one): what a person sees. */
async function onTerminal(args: string[], env: Record<string, string>): Promise<Result> {
  const line = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  try {
    const { stdout } = await run('script', ['-qec', line, '/dev/null'], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout, stderr: '' };
  }
}

t.test('--help on every command: stdout, exit 0; every serve flag listed', async (t) => {
  for (const args of [['--help'], ['help'], ['serve', '--help'], ['token', '--help'], ['event', 'put', '--help'], ['persister', '--help'], ['reconcile', '--help']]) {
    const r = await cli(args);
    t.equal(r.code, 0, `${args.join(' ')}: exit 0`);
    t.match(r.stdout, /^usage: seckill/, `${args.join(' ')}: usage on stdout`);
    t.equal(r.stderr, '', `${args.join(' ')}: nothing on stderr`);
  }
  const serve = (await cli(['serve', '--help'])).stdout;
  for (const s of SETTINGS) {
    t.match(serve, new RegExp(`^  ${flagName(s.env)} .*\\[${s.env}\\]$`, 'm'), `serve --help lists ${flagName(s.env)}`);
    t.ok(serve.includes(`${s.help}`), `${s.env}: its help line from the settings table`);
  }
  const bad = await cli(['frobnicate']);
  t.equal(bad.code, 2, 'an unknown command exits 2');
  t.match(bad.stderr, /unknown command "frobnicate"/);
  const version = await cli(['--version']);
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  t.same([version.code, version.stdout.trim()], [0, `seckill ${pkg.version} (node ${process.version})`]);
});

t.test('token: 24 h by default, --ttl none for no exp', async (t) => {
  const env = { SECKILL_JWT_SECRET: SECRET };
  const claims = async (args: string[]): Promise<{ exp?: number; iat: number; sub: string }> =>
    decode((await cli(['token', '--user', 'bob', ...args], env)).stdout.trim()) as { exp?: number; iat: number; sub: string };
  const def = await claims([]);
  t.equal(def.sub, 'bob');
  t.equal(def.exp! - def.iat, 86_400, 'default: 24 h');
  const long = await claims(['--ttl', '1h30m']);
  t.equal(long.exp! - long.iat, 5_400, '--ttl 1h30m');
  t.notOk('exp' in (await claims(['--ttl', 'none'])), '--ttl none: no exp');
  const bad = await cli(['token', '--user', 'bob', '--ttl', 'soon'], env);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--ttl: expected a duration/);
});

t.test('durations and times', async (t) => {
  t.equal(parseDuration('90s'), 90_000);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('250'), 250);
  t.throws(() => parseDuration('1y'), /--ttl: expected a duration/);
  const now = 1_800_000_000_000;
  t.equal(parseWhen('now', '--start', now), now);
  t.equal(parseWhen('+10m', '--start', now), now + 600_000);
  t.equal(parseWhen('+1h', '--end', now), now + 3_600_000);
  t.equal(parseWhen('2030-01-01T00:00:00Z', '--end', now), Date.parse('2030-01-01T00:00:00Z'));
  t.throws(() => parseWhen('tomorrow', '--end', now), /--end: expected now, \+10m/);
});

t.test('event put: relative times, and an update keeps the fields it is not given', async (t) => {
  const app = await testApp(t);
  const env = { SECKILL_ADMIN_TOKEN: ADMIN, PORT: String(app.port) };
  const before = Date.now();
  const made = await cli(['event', 'put', 'spring', '--stock', '50', '--start', '+10m', '--end', '+1h', '--name', 'Spring sale'], env);
  t.equal(made.code, 0, made.stdout + made.stderr);
  const first = JSON.parse(made.stdout) as { result: string; start: string; end: string; name: string; stock: number };
  t.equal(first.result, 'created');
  t.ok(Math.abs(Date.parse(first.start) - (before + 600_000)) < 5_000, '--start +10m');
  t.ok(Math.abs(Date.parse(first.end) - (before + 3_600_000)) < 5_000, '--end +1h');

  const changed = await cli(['event', 'put', 'spring', '--stock', '80'], env);
  t.equal(changed.code, 0, changed.stdout + changed.stderr);
  t.match(JSON.parse(changed.stdout), { result: 'updated', stock: 80, name: 'Spring sale', start: first.start, end: first.end }, 'name and window kept');

  const missing = await cli(['event', 'put', 'autumn', '--stock', '5'], env);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /does not exist yet; a new event needs --end/);
  const now = await cli(['event', 'put', 'now', '--stock', '5', '--start', 'now', '--end', '+1h'], env);
  t.match(JSON.parse(now.stdout), { result: 'created', state: 'open' }, '--start now opens at once');

  const deadline = await cli(['event', 'put', 'paid', '--stock', '5', '--start', '+10m', '--end', '+1h', '--pay-within', '15m'], env);
  t.match(JSON.parse(deadline.stdout), { result: 'created', payWithin: 900 }, '--pay-within 15m: 900 seconds');
  const kept = await cli(['event', 'put', 'paid', '--stock', '6'], env);
  t.match(JSON.parse(kept.stdout), { result: 'updated', stock: 6, payWithin: 900 }, 'an update keeps payWithin');
  const seconds = await cli(['event', 'put', 'paid', '--pay-within', '60'], env);
  t.match(JSON.parse(seconds.stdout), { result: 'updated', payWithin: 60 }, 'a bare number is seconds');
  const bad = await cli(['event', 'put', 'paid', '--pay-within', '1500ms'], env);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--pay-within: whole seconds only/);
});

t.test('fatal start-up errors: one JSON line off a terminal, one human line on it, exit 1', async (t) => {
  const dir = tempDir(t);
  const closed = await closedPort();
  const base = { SECKILL_DATA_DIR: dir, SECKILL_JWT_SECRET: SECRET, REDIS_URL: '', MYSQL_URL: '', PORT: '0', HOST: '127.0.0.1' };
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ['no secret', ['serve'], { SECKILL_JWT_SECRET: '' }, /set SECKILL_JWT_SECRET/],
    ['missing blocklist', ['serve'], { SECKILL_BLOCKLIST: path.join(dir, 'nope.txt') }, /SECKILL_BLOCKLIST: cannot read .*nope\.txt \(ENOENT\)/],
    ['persister, no services', ['persister'], {}, /no REDIS_URL, and no local redis-server/],
    ['reconcile, no services', ['reconcile'], {}, /no REDIS_URL, and no local redis-server/],
    ['event put, no server', ['event', 'put', 'x', '--stock', '1', '--end', '+1h', '--url', `http://127.0.0.1:${closed}`], { SECKILL_ADMIN_TOKEN: ADMIN }, new RegExp(`no seckill server answers at http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)`)],
    ['unreachable REDIS_URL', ['serve'], { REDIS_URL: `redis://127.0.0.1:${closed}`, MYSQL_URL: 'none' }, new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${closed} \\(REDIS_URL\\)`)],
    ['postgres MYSQL_URL', ['serve'], { MYSQL_URL: 'postgres://u:p@db:5432/x' }, /MYSQL_URL must be mysql:\/\/.*got "postgres:\/\/…"/],
  ];
  for (const [what, args, env, message] of cases) {
    const piped = await cli(args, { ...base, ...env });
    t.equal(piped.code, 1, `${what}: exit 1`);
    const lines = piped.stderr.trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1]!) as { level: string; msg: string; err?: { stack?: string } };
    t.equal(last.level, 'fatal', `${what}: a fatal JSON line`);
    t.match(last.msg, message, `${what}: says what is wrong`);
    const tty = await onTerminal(args, { ...base, ...env });
    t.not(tty.code, 0, `${what}, on a terminal: non-zero exit`);
    const said = tty.stdout.trim().split(/\r?\n/).filter((l) => l.startsWith('seckill: '));
    t.equal(said.length, 1, `${what}, on a terminal: one seckill: line`);
    t.match(said[0], message);
    t.notMatch(tty.stdout, /^\s+at /m, `${what}, on a terminal: no stack`);
  }
});
