import net from 'node:net';
import t from 'tap';
import { ADMIN, buy, putEvent, testApp } from './helpers/app';
import { runCli, runCliOnTerminal } from './helpers/run-cli';

/**
 * `seckill event put` fails in one format, whoever refuses: the command
 * itself (a bad option), or the server (a bad definition, a sale that has
 * buyers). One line on a terminal, `seckill: …`; one fatal log line
 * otherwise; exit 1, and nothing on stdout, which is for the put's result.
 */
t.test('event put: local and server refusals come in one format, on stderr, exit 1', async (t) => {
  const app = await testApp(t);
  const env = { SECKILL_ADMIN_TOKEN: ADMIN, PORT: String(app.port) };
  t.equal((await putEvent(app.base, 'open', { stock: 5 })).status, 201);
  t.equal((await buy(app.base, 'open', 'ada')).c, 0, 'the sale has a buyer');
  const probe = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => probe.once('listening', r));
  const closed = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));

  const cases: [string, string[], RegExp][] = [
    ['a bad option (the command)', ['event', 'put', 'x', '--stock', 'lots', '--end', '+1h'], /^--stock: expected a whole number, got "lots"$/],
    ['a bad definition (the server, 400)', ['event', 'put', 'x', '--stock', '5', '--start', '2030-01-01T10:00:00Z', '--end', '2030-01-01T09:00:00Z'], /^event put x: end must be after start$/],
    ['a sale with buyers (the server, 409)', ['event', 'put', 'open', '--stock', '9'], /^event put open: refused: the sale has buyers/],
    ['no server', ['event', 'put', 'x', '--stock', '5', '--end', '+1h', '--url', `http://127.0.0.1:${closed}`], /^no seckill server answers at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/],
  ];
  for (const [what, args, message] of cases) {
    const r = await runCli(args, env);
    t.equal(r.code, 1, `${what}: exit 1`);
    t.equal(r.stdout, '', `${what}: nothing on stdout`);
    t.equal(r.last.level, 'fatal', `${what}: one fatal log line`);
    t.match(r.last.msg, message, `${what}: ${r.last.msg}`);
  }
  const tty = await runCliOnTerminal(['event', 'put', 'open', '--stock', '9'], env);
  t.not(tty.code, 0, 'on a terminal: exit non-zero');
  t.match(tty.out.trim(), /^seckill: event put open: refused: the sale has buyers[^\n]*$/, 'on a terminal: one seckill: line, like every other error');

  const ok = await runCli(['event', 'put', 'later', '--stock', '5', '--start', '+10m', '--end', '+1h'], env);
  t.equal(ok.code, 0, 'a put that succeeds exits 0');
  t.match(JSON.parse(ok.stdout), { result: 'created', event: 'later' }, 'and prints its result on stdout');
});
