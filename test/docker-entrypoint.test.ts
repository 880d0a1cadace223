import path from 'node:path';
import t from 'tap';
import { ADMIN, SECRET } from './helpers/app';
import { spawnServer } from './helpers/process';
import { tempDir } from './helpers/services';

const ENTRYPOINT = path.join(__dirname, '..', 'docker', 'entrypoint.sh');

t.test("the container's entrypoint starts the whole stack and serves /healthz", async (t) => {
  const dataDir = tempDir(t);
  const env = { SECKILL_DATA_DIR: dataDir, SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, REDIS_URL: '', MYSQL_URL: '' };
  const s = await spawnServer(t, env, [], ['/bin/sh', ENTRYPOINT]);
  const res = await fetch(`${s.base}/healthz`);
  t.equal(res.status, 200);
  const up = { up: true, restarts: 0 };
  t.same(await res.json(), { ok: true, redis: true, mysql: true, services: { 'redis-server': up, mariadbd: up } }, 'local Redis and MariaDB answer');
  s.child.kill('SIGTERM');
  t.equal(await s.exited, 0, 'SIGTERM: clean exit');
});
