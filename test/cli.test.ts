import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import net from 'node:net';
import { createDecoder } from 'fast-jwt';
import t from 'tap';
import { parseDuration, parseWhen } from '../src/cli/time';
import { flagName, SETTINGS } from '../src/config';
import { ADMIN, buy, SECRET, testApp } from './helpers/app';
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

/** What a failed command said: its fatal JSON line's message (stderr is not a terminal here). */
function said(r: Result): string {
  const last = r.stderr.trim().split('\n').pop() ?? '';
  return last.startsWith('{') ? String((JSON.parse(last) as { msg?: string }).msg) : last;
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
  const pages = [['--help'], ['help'], ['serve', '--help'], ['token', '--help'], ['event', '--help'], ['event', 'put', '--help'], ['event', 'list', '--help'], ['event', 'get', '--help'], ['persister', '--help'], ['reconcile', '--help'], ['draw', 'verify', '--help']];
  for (const args of pages) {
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
  const event = await cli(['event', '--help']);
  t.match(event.stdout, /event put ID[\s\S]*event list[\s\S]*event get ID[\s\S]*event pause ID, event resume ID/, 'event --help: its commands');
  const bare = await cli(['event']);
  t.same([bare.code, bare.stdout], [2, ''], 'event alone: exit 2, nothing on stdout');
  t.match(bare.stderr, /^usage: seckill event[\s\S]*event needs a command: put, list, get, pause or resume/);
  const unknown = await cli(['event', 'delete', 'x']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /^usage: seckill event[\s\S]*unknown command "event delete"/, "an unknown event command: event's help");
  const version = await cli(['--version']);
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  t.same([version.code, version.stdout.trim()], [0, `seckill ${pkg.version} (node ${process.version})`]);
});

t.test('token: 24 h by default, --ttl none for no exp, a bare number refused', async (t) => {
  const env = { SECKILL_JWT_SECRET: SECRET };
  const claims = async (args: string[]): Promise<{ exp?: number; iat: number; sub: string }> =>
    decode((await cli(['token', '--user', 'bob', ...args], env)).stdout.trim()) as { exp?: number; iat: number; sub: string };
  const def = await claims([]);
  t.equal(def.sub, 'bob');
  t.equal(def.exp! - def.iat, 86_400, 'default: 24 h');
  const long = await claims(['--ttl', '1h30m']);
  t.equal(long.exp! - long.iat, 5_400, '--ttl 1h30m');
  const seconds = await claims(['--ttl', '3600s']);
  t.equal(seconds.exp! - seconds.iat, 3_600, '--ttl 3600s');
  t.notOk('exp' in (await claims(['--ttl', 'none'])), '--ttl none: no exp');
  const bad = await cli(['token', '--user', 'bob', '--ttl', 'soon'], env);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--ttl: expected a duration/);
  // Once made a token valid for 3.6 s where an hour was meant.
  const bare = await cli(['token', '--user', 'bob', '--ttl', '3600'], env);
  t.same([bare.code, bare.stdout], [1, ''], '--ttl 3600: refused, no token');
  t.match(bare.stderr, /--ttl 3600: a duration needs its unit: 3600s for seconds, or 10m, 1h/);
});

t.test('durations and times', async (t) => {
  t.equal(parseDuration('90s', '--ttl'), 90_000);
  t.equal(parseDuration('1h30m', '--ttl'), 5_400_000);
  t.equal(parseDuration('500ms', '--ttl'), 500);
  t.equal(parseDuration('0', '--pay-within'), 0, '0 needs no unit');
  t.throws(() => parseDuration('250', '--ttl'), /--ttl 250: a duration needs its unit: 250s for seconds/);
  t.throws(() => parseDuration('1y', '--ttl'), /--ttl: expected a duration/);
  const now = 1_800_000_000_000;
  t.same(parseWhen('now', '--start', now), { kind: 'now', ms: now });
  t.same(parseWhen('+10m', '--start', now), { kind: 'relative', ms: now + 600_000 });
  t.same(parseWhen('+1h', '--end', now), { kind: 'relative', ms: now + 3_600_000 });
  t.throws(() => parseWhen('+600', '--start', now), /--start \+600: a duration needs its unit: \+600s for seconds, or \+10m/, '+600 was once 0.6 s');
  t.same(parseWhen('2030-01-01T00:00:00Z', '--end', now), { kind: 'instant', ms: Date.parse('2030-01-01T00:00:00Z') });
  t.same(parseWhen('2030-01-01T08:00:00+08:00', '--end', now).ms, Date.parse('2030-01-01T00:00:00Z'), 'an offset');
  t.same(parseWhen('1893456000000', '--end', now).ms, 1_893_456_000_000, 'epoch ms');
  t.throws(() => parseWhen('tomorrow', '--end', now), /--end: expected now, \+10m/);
  t.throws(() => parseWhen('2026-12-03', '--start', now), /--start "2026-12-03" is a date without a time: give the time and its offset \(2026-12-03T10:00:00Z, 2026-12-03T10:00:00\+08:00\)/);
  t.throws(() => parseWhen('2026-12-04T10:00:00', '--start', now), /has no offset, so its zone is a guess: add Z \(UTC\) or an offset such as \+08:00/);
  t.throws(() => parseWhen('2026-12-04T10:00', '--start', now), /has no offset/);
  t.throws(() => parseWhen('1780000000', '--start', now), /--start 1780000000 is below 10\^12: seconds\? give milliseconds \(1780000000000\)/);
  t.throws(() => parseWhen('1780000000000000', '--start', now), /microseconds\? give milliseconds/);
  t.throws(() => parseWhen('2026-02-30T10:00:00Z', '--start', now), /not a real date and time/, 'Date.parse would take it for March 2');
});

t.test('event put: relative times place a new event and keep the window of one that exists; a change keeps the fields it is not given', async (t) => {
  const app = await testApp(t);
  const env = { SECKILL_ADMIN_TOKEN: ADMIN, PORT: String(app.port) };
  const before = Date.now();
  const spring = ['event', 'put', 'spring', '--stock', '50', '--start', '+10m', '--end', '+1h', '--name', 'Spring sale'];
  const made = await cli(spring, env);
  t.equal(made.code, 0, made.stdout + made.stderr);
  const first = JSON.parse(made.stdout) as { result: string; start: string; end: string; name: string; stock: number };
  t.equal(first.result, 'created');
  t.ok(Math.abs(Date.parse(first.start) - (before + 600_000)) < 5_000, '--start +10m');
  t.ok(Math.abs(Date.parse(first.end) - (before + 3_600_000)) < 5_000, '--end +1h');
  t.equal(made.stderr, '', 'nothing to say about a new event');

  // The README's Docker example, run again a moment later: the window stays where the first run put it.
  const again = await cli(spring, env);
  t.equal(again.code, 0, again.stdout + again.stderr);
  t.match(JSON.parse(again.stdout), { result: 'unchanged', start: first.start, end: first.end }, 'the same command again: unchanged');
  t.match(again.stderr, /"spring" exists, so --start \+10m and --end \+1h kept its window \(.*\): relative times place a new event only/);
  const at = (ms: number): string => new Date(Math.ceil(Date.now() / 1000) * 1000 + ms).toISOString();
  const [later, end] = [at(7_200_000), at(10_800_000)];
  const moved = await cli(['event', 'put', 'spring', '--start', later, '--end', end], env);
  t.match(JSON.parse(moved.stdout), { result: 'updated', start: later, end }, 'ISO-8601 times move it');
  t.equal(moved.stderr, '');

  const changed = await cli(['event', 'put', 'spring', '--stock', '80'], env);
  t.equal(changed.code, 0, changed.stdout + changed.stderr);
  t.match(JSON.parse(changed.stdout), { result: 'updated', stock: 80, name: 'Spring sale', start: later, end }, 'name and window kept');

  const missing = await cli(['event', 'put', 'autumn', '--stock', '5'], env);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /does not exist yet; a new event needs --end/);
  const now = await cli(['event', 'put', 'now', '--stock', '5', '--start', 'now', '--end', '+1h'], env);
  const opened = JSON.parse(now.stdout) as { result: string; state: string; start: string; end: string };
  t.match(opened, { result: 'created', state: 'open' }, '--start now opens at once');
  const reopened = await cli(['event', 'put', 'now', '--stock', '5', '--start', 'now', '--end', '+1h'], env);
  t.match(JSON.parse(reopened.stdout), { result: 'unchanged', start: opened.start, end: opened.end }, '--start now on an open event: its start stays');
  t.match(reopened.stderr, /kept its window/);

  // A start more than a minute ago is a mistake (it would open the sale at once): the API refuses it, code 9.
  const past = await cli(['event', 'put', 'past', '--stock', '5', '--start', new Date(Date.now() - 3 * 3_600_000).toISOString(), '--end', '+1h'], env);
  t.equal(past.code, 1);
  t.equal(past.stdout, '', 'a refusal: nothing on stdout');
  t.match(said(past), /event put past: .*start .* is 3 hours in the past: to open the sale at once give now, else a time to come/);
  // Refused before the server is asked (no server at this port).
  const closed = await closedPort();
  for (const [args, message] of [
    [['--start', '2026-12-03'], /--start "2026-12-03" is a date without a time/],
    [['--start', '+600'], /--start \+600: a duration needs its unit: \+600s for seconds/],
    [['--end', '1893456000'], /--end 1893456000 is below 10\^12: seconds\? give milliseconds/],
  ] as const) {
    const r = await cli(['event', 'put', 'x', '--stock', '1', '--end', '+1h', ...args, '--url', `http://127.0.0.1:${closed}`], env);
    t.equal(r.code, 1, args.join(' '));
    t.match(said(r), message, `${args.join(' ')}: refused, before any server is asked`);
  }

  const deadline = await cli(['event', 'put', 'paid', '--stock', '5', '--start', '+10m', '--end', '+1h', '--pay-within', '15m'], env);
  t.match(JSON.parse(deadline.stdout), { result: 'created', payWithin: 900 }, '--pay-within 15m: 900 seconds');
  const kept = await cli(['event', 'put', 'paid', '--stock', '6'], env);
  t.match(JSON.parse(kept.stdout), { result: 'updated', stock: 6, payWithin: 900 }, 'an update keeps payWithin');
  const seconds = await cli(['event', 'put', 'paid', '--pay-within', '60s'], env);
  t.match(JSON.parse(seconds.stdout), { result: 'updated', payWithin: 60 }, '--pay-within 60s');
  const bare = await cli(['event', 'put', 'paid', '--pay-within', '60'], env);
  t.same([bare.code, bare.stdout], [1, ''], 'a bare number: refused, nothing sent');
  t.match(bare.stderr, /--pay-within 60: a duration needs its unit: 60s for seconds/);
  const final = await cli(['event', 'put', 'paid', '--pay-within', '0'], env);
  t.match(JSON.parse(final.stdout), { result: 'updated', payWithin: 0 }, '--pay-within 0: a win is final');
  const bad = await cli(['event', 'put', 'paid', '--pay-within', '1500ms'], env);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--pay-within: whole seconds only/);

  const drawn = await cli(['event', 'put', 'drawn', '--stock', '5', '--start', '+10m', '--end', '+1h', '--draw', '2s'], env);
  t.match(JSON.parse(drawn.stdout), { result: 'created', drawMs: 2000 }, '--draw 2s: a draw at the opening of 2,000 ms');
  t.match(JSON.parse((await cli(['event', 'put', 'drawn', '--stock', '6'], env)).stdout), { result: 'updated', stock: 6, drawMs: 2000 }, 'an update keeps it');
  const long = await cli(['event', 'put', 'drawn', '--draw', '11s'], env);
  t.equal(long.code, 1, 'a draw over 10 s: refused by the server');
  t.match(long.stderr, /drawMs must be a whole number of milliseconds from 0 to 10000/);
  const early = await cli(['draw', 'verify', 'drawn', '--url', `http://127.0.0.1:${app.port}`], env);
  t.equal(early.code, 1, 'draw verify before the draw: exit 1');
  t.match(said(early), /the draw of "drawn" is not published: the draw is decided at /);
});

t.test('event list and event get', async (t) => {
  const app = await testApp(t);
  const env = { SECKILL_ADMIN_TOKEN: ADMIN, PORT: String(app.port) };
  t.match((await cli(['event', 'list'], env)).stdout, /^no events/, 'none yet');
  await cli(['event', 'put', 'later', '--stock', '5', '--start', '+1h', '--end', '+2h', '--name', 'Later sale'], env);
  await cli(['event', 'put', 'gone', '--stock', '1', '--start', 'now', '--end', '+1h'], env);
  t.equal((await buy(app.base, 'gone', 'u1')).c, 0);
  await cli(['event', 'put', 'live', '--stock', '3', '--start', 'now', '--end', '+1h'], env);

  const list = await cli(['event', 'list'], env);
  t.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split('\n');
  t.match(lines[0], /^EVENT +STATE +STOCK +LEFT +START +END +NAME$/);
  t.match(lines.slice(1), [/^gone +sold out +1 +0 /, /^live +open +3 +3 /, /^later +scheduled +5 +5 .* Later sale$/], 'by start: state, stock, units left');
  const json = JSON.parse((await cli(['event', 'list', '--json'], env)).stdout) as { events: unknown[] };
  t.match(json.events, [{ event: 'gone', state: 'open', soldOut: true, remaining: 0 }, { event: 'live' }, { event: 'later', state: 'scheduled', soldOut: false, remaining: 5 }]);

  const got = await cli(['event', 'get', 'gone'], env);
  t.equal(got.code, 0, got.stderr);
  t.match(JSON.parse(got.stdout), { event: 'gone', stock: 1, remaining: 0, sold: 1, buyers: 1 });
  const none = await cli(['event', 'get', 'nosuch'], env);
  t.same([none.code, none.stdout], [1, '']);
  t.match(said(none), /no such event "nosuch"/);
  const noId = await cli(['event', 'get'], env);
  t.equal(noId.code, 1);
  t.match(noId.stderr, /event get: the event id is required/);
});

t.test('event pause and event resume', async (t) => {
  const app = await testApp(t);
  const env = { SECKILL_ADMIN_TOKEN: ADMIN, PORT: String(app.port) };
  await cli(['event', 'put', 'hold', '--stock', '3', '--start', 'now', '--end', '+1h'], env);
  t.equal((await buy(app.base, 'hold', 'u1')).c, 0);
  const paused = await cli(['event', 'pause', 'hold'], env);
  t.equal(paused.code, 0, paused.stderr);
  t.match(paused.stdout, /^hold: paused; no unit is decided until it is resumed \(orders so far: 1\)$/m);
  t.match((await cli(['event', 'pause', 'hold'], env)).stdout, /paused \(it already was\)/, 'a repeat says so');
  t.equal((await buy(app.base, 'hold', 'u2')).c, 16, 'a buy while paused: 16');
  const resumed = await cli(['event', 'resume', 'hold'], env);
  t.equal(resumed.code, 0, resumed.stderr);
  t.match(resumed.stdout, /^hold: selling; that pause lasted [\d.]+ s \(paused 1 time\(s\), [\d.]+ s in all\)$/m);
  t.equal((await buy(app.base, 'hold', 'u2')).c, 0, 'resumed: it sells');
  const none = await cli(['event', 'pause', 'nosuch'], env);
  t.same([none.code, none.stdout], [1, '']);
  t.match(said(none), /no such event "nosuch"/);
  t.match((await cli(['event', 'pause', '--help'], env)).stdout, /usage: seckill event pause ID/);
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
