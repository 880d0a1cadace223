import path from 'node:path';
import t from 'tap';
import { DEFAULT_CONFIG, SETTINGS } from '../src/config';
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

t.test('Dockerfile and compose.yaml: probes on $PORT, MariaDB with a named volume, one init process', async (t) => {
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
  t.notMatch(compose, /^\s*init:/m, "one init: the image's tini, not a second one under compose's init: true");
  t.match(compose, /\/healthz/, 'the container health check is liveness');
  const grace = /^\s*stop_grace_period: (\d+)s$/m.exec(compose);
  t.ok(grace !== null && Number(grace[1]) * 1000 > DEFAULT_CONFIG.stopTimeoutMs, `stop_grace_period (${grace?.[1]} s) exceeds the server's stop deadline`);
  t.match(compose, /"--appendfsync", "always"/, "Redis syncs every write, as the single container's does");
  const env = new Set([...compose.matchAll(/^ {6}([A-Z_]+): /gm)].map((m) => m[1]!));
  for (const name of ['SECKILL_PAYMENT_TOKEN', 'SECKILL_CORS_ORIGINS']) t.ok(env.has(name), `compose passes ${name}`);
  const known = new Set([...SETTINGS.map((s) => s.env), 'MARIADB_DATABASE', 'MARIADB_USER', 'MARIADB_PASSWORD', 'MARIADB_RANDOM_ROOT_PASSWORD']);
  t.same([...env].filter((name) => !known.has(name)), [], "compose's variables are settings the server reads");
});
