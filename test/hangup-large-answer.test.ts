import net from 'node:net';
import t from 'tap';
import { ADMIN, SECRET } from './helpers/app';
import { spawnServer } from './helpers/process';
import { tempDir } from './helpers/services';

/**
 * Clients that send a request for a large answer (the dashboard's script,
 * 30 KB) and reset the connection at once (RST): uWS may leave the answer
 * pending, and a handler that returns with an answer pending and no abort
 * handler aborts the whole process ("Returning from a request handler
 * without responding or attaching an abort handler is forbidden!"). Found
 * by test/contract-aborts.test.ts under load; here it is made to happen.
 */

/** `n` requests for `path`, `wave` at a time, each connection reset right after its request is written. */
async function resetAfterRequest(port: number, path: string, n: number, wave = 20): Promise<void> {
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        setImmediate(() => {
          s.resetAndDestroy();
          resolve();
        });
      });
      s.on('error', () => resolve());
    });
  for (let sent = 0; sent < n; sent += wave) await Promise.all(Array.from({ length: wave }, one));
}

for (const workers of ['1', '2']) {
  t.test(`SECKILL_WORKERS=${workers}: 20,000 resets right after asking for a large answer crash nothing`, async (t) => {
    const s = await spawnServer(t, { SECKILL_DATA_DIR: tempDir(t), SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, REDIS_URL: '', MYSQL_URL: 'none', SECKILL_WORKERS: workers });
    for (const path of ['/admin/dashboard.js', '/metrics']) await resetAfterRequest(s.port, path, 10_000);
    t.equal((await fetch(`${s.base}/healthz`)).status, 200, 'the server answers');
    t.equal(s.child.exitCode, null, 'it runs');
    t.notMatch(s.output(), /Returning from a request handler|worker exited|"level":60/, 'no process aborted or restarted');
  });
}
