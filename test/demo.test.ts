import t from 'tap';
import { findBinary } from '../src/services/local-service';
import { spawnServer } from './helpers/process';
import { tempDir } from './helpers/services';

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
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);

  const again = await spawnServer(t, env, ['serve', '--demo']);
  const res2 = await fetch(`${again.base}/events/demo/buy`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  t.same(await res2.json(), { c: 2, o: 1 }, 'restart keeps the open demo sale and the secrets');
});

t.test('a missing service binary names the package and the variable', async (t) => {
  t.throws(() => findBinary(['no-such-redis-server'], 'redis-server', 'REDIS_URL'), /apt-get install -y redis-server.*REDIS_URL/);
});
