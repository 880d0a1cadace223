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
  t.has(await res.json(), { ok: true, redis: true, mysql: true, services: { 'redis-server': up, mariadbd: up } }, 'local Redis and MariaDB answer');
  s.child.kill('SIGTERM');
  t.equal(await s.exited, 0, 'SIGTERM: clean exit');
});

t.test('Dockerfile and compose.yaml: probes on $PORT, MariaDB with a named volume, an init process', async (t) => {
  const fs = await import('node:fs');
  const dockerfile = fs.readFileSync(path.join(__dirname, '..', 'docker', 'Dockerfile'), 'utf8');
  const compose = fs.readFileSync(path.join(__dirname, '..', 'docker', 'compose.yaml'), 'utf8');
  const healthcheck = dockerfile.slice(dockerfile.indexOf('HEALTHCHECK'));
  t.match(healthcheck, /CMD curl -fsS "http:\/\/127\.0\.0\.1:\$\{PORT\}\/healthz"/, 'HEALTHCHECK follows $PORT');
  t.match(dockerfile, /ENTRYPOINT \["\/usr\/bin\/tini", "--"/, 'tini is PID 1');
  t.match(compose, /image: mariadb:/, 'compose runs MariaDB');
  t.notMatch(compose, /image: mysql/, 'not mysql');
  t.match(compose, /- mariadb-data:\/var\/lib\/mysql/, 'its data on a named volume');
  t.match(compose, /^volumes:\n(?:.*\n)*\s+mariadb-data:/m, 'the volume is declared');
  t.match(compose, /init: true/);
  t.match(compose, /\/healthz/, 'the container health check is liveness');
});
