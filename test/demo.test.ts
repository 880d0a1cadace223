import t from 'tap';
import { findBinary } from '../src/services/local-service';
import { spawnServer } from './helpers/process';
import { tempDir } from './helpers/services';
import { until } from './helpers/wait';

t.test('npm start: demo sale, generated secrets, a curl line that works', async (t) => {
  const dataDir = tempDir(t);
  const env = { SECKILL_DATA_DIR: dataDir, SECKILL_JWT_SECRET: '', SECKILL_ADMIN_TOKEN: '', REDIS_URL: '' };
  const server = await spawnServer(t, env, ['serve', '--demo']);
  const banner = await new Promise<string>((resolve) => {
    const look = (): void => {
      const m = /curl -s -X POST -H 'authorization: Bearer ([^']+)' (\S+)/.exec(server.output());
      if (m) resolve(server.output());
      else server.child.stdout!.once('data', look);
    };
    look();
  });
  const [, token, url] = /curl -s -X POST -H 'authorization: Bearer ([^']+)' (\S+)/.exec(banner)!;
  t.match(url, /\/events\/demo\/buy$/);
  const res = await fetch(url!, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  t.same(await res.json(), { c: 0, o: 1 }, 'the printed command buys a unit');
  const [, adminToken] = /authorization: Bearer ([^']+)' \S+\/admin\/events\/demo/.exec(banner)!;
  const stats = await fetch(`${server.base}/admin/events/demo`, { headers: { authorization: `Bearer ${adminToken}` } });
  t.match(await stats.json(), { stock: 100, sold: 1, state: 'open' });
  const [, orderUrl] = /curl -s -H 'authorization: Bearer [^']+' (\S+\/events\/demo\/order)/.exec(banner)!;
  // "pending" until the persister has written it, then "confirmed".
  t.match(await (await fetch(orderUrl!, { headers: { authorization: `Bearer ${token}` } })).json(), { c: 0, o: 1, s: /^(pending|confirmed)$/ }, 'the printed order query finds it');
  t.match(banner, new RegExp(`${server.base.replace(/\./g, '\\.')}/admin/#token=${adminToken}\n`), 'the dashboard link carries the admin token in its fragment');
  t.match(banner, /Buy one unit as user "alice" \(token valid 24 h; mint others with: npx seckill token --user bob\)/, 'a fresh sale: alice buys');
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);

  // HOST unset: the demo, which prints its admin token, listens on loopback only.
  const again = await spawnServer(t, { ...env, HOST: '' }, ['serve', '--demo']);
  t.match(again.output(), /"host":"127\.0\.0\.1"[^\n]*"msg":"listening"/, 'the demo binds 127.0.0.1 unless HOST is set');
  const res2 = await fetch(`${again.base}/events/demo/buy`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  t.same(await res2.json(), { c: 2, o: 1 }, 'restart keeps the open demo sale and the secrets');
  const banner2 = await new Promise<string>((resolve) => {
    const look = (): void => (/curl -s -X POST/.test(again.output()) ? resolve(again.output()) : void again.child.stdout!.once('data', look));
    look();
  });
  t.match(banner2, /"demo" \(99 of 100 units left, open until \d\d:\d\d UTC, (59|60) minutes from now, kept from the previous run\)/, 'the banner tells what is left');
  t.match(banner2, /To start the demo afresh: stop the server, delete its data folder/);
  // alice bought in the first run: the banner offers someone who has not, and its curl line buys.
  t.match(banner2, /Buy one unit as user "bob" \(token valid 24 h; mint others with: npx seckill token --user carol\)/, 'after a restart: a user who has not bought yet');
  const [, token2, url2] = /curl -s -X POST -H 'authorization: Bearer ([^']+)' (\S+)/.exec(banner2)!;
  t.not(token2, token, "not alice's token");
  const again2 = await fetch(url2!, { method: 'POST', headers: { authorization: `Bearer ${token2}` } });
  t.same(await again2.json(), { c: 0, o: 2 }, 'the printed command buys a unit again');
});

t.test('the demo with SECKILL_JWT_SECRET and no admin token: no empty Bearer, it says what to set', async (t) => {
  const server = await spawnServer(t, { SECKILL_DATA_DIR: tempDir(t), SECKILL_JWT_SECRET: 'given-secret-0123', SECKILL_ADMIN_TOKEN: '', REDIS_URL: '', MYSQL_URL: 'none' }, ['serve', '--demo']);
  await until(() => /curl -s -X POST/.test(server.output()), 'the banner', 30_000, 20);
  const banner = server.output();
  t.notMatch(banner, /Bearer\s*'/, 'no curl line with an empty Bearer');
  t.notMatch(banner, /#token=\s/, 'no dashboard link with an empty token');
  t.match(banner, /need an admin token: set SECKILL_ADMIN_TOKEN/, 'it says what to set');
  const [, token, url] = /curl -s -X POST -H 'authorization: Bearer ([^']+)' (\S+)/.exec(banner)!;
  t.same(await (await fetch(url!, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).json(), { c: 0, o: 1 }, 'its buy line works');
});

t.test('a missing service binary names the package and the variable', async (t) => {
  t.throws(() => findBinary(['no-such-redis-server'], 'redis-server', 'REDIS_URL'), /apt-get install -y redis-server.*REDIS_URL/);
});
