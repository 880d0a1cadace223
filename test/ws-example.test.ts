import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { openEvent, testApp, token } from './helpers/app';

const run = promisify(execFile);

t.test('examples/ws-client.mjs buys for two users over one connection', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'ex', 1);
  const script = path.join(__dirname, '..', 'examples', 'ws-client.mjs');
  const { stdout } = await run(process.execPath, [script, 'ex', token('ex1'), token('ex2')], {
    env: { ...process.env, SECKILL_URL: `ws://127.0.0.1:${app.port}/ws` },
  });
  const lines = stdout.trim().split('\n');
  t.ok(lines.includes('user #1: won order 1') !== lines.includes('user #2: won order 1'), `one of the two won (${stdout.trim()})`);
  t.ok(lines.some((l) => /^user #\d: sold_out$/.test(l)), 'the other was told sold out');
});
