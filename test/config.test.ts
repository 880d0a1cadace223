import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Redis } from 'ioredis';
import { DEFAULT_CONFIG, defaultWorkers, loadConfig, SETTINGS, trustedProxyList } from '../src/config';
import { startLocalRedis } from '../src/services/redis-server';
import { tempDir } from './helpers/services';

t.test('defaults, env and flags', async (t) => {
  const c = loadConfig({}, []);
  t.equal(c.port, DEFAULT_CONFIG.port);
  t.ok(Object.isFrozen(c), 'frozen');
  t.ok(Object.isFrozen(DEFAULT_CONFIG), 'defaults frozen');
  t.equal(loadConfig({ PORT: '9000' }).port, 9000);
  t.equal(loadConfig({ PORT: '9000' }, ['--port', '9100']).port, 9100, 'a flag wins over env');
  t.equal(loadConfig({}, ['--queue-rate=5000']).queueRate, 5000);
  t.equal(loadConfig({ SECKILL_PERSISTER: 'off' }).persister, false);
  t.equal(loadConfig({}, ['--log-level', 'warn']).logLevel, 'warn');
  t.equal(loadConfig({ SECKILL_DATA_DIR: 'rel' }).dataDir, path.resolve('rel'), 'data dir made absolute');
});

t.test('bad values name the variable', async (t) => {
  t.throws(() => loadConfig({ PORT: 'eighty' }), /PORT must be a whole number/);
  t.throws(() => loadConfig({ PORT: '70000' }), /PORT must be between 0 and 65535/);
  t.throws(() => loadConfig({ SECKILL_QUEUE_CAPACITY: '0' }), /SECKILL_QUEUE_CAPACITY/);
  t.throws(() => loadConfig({ SECKILL_QUEUE_RATE: '-1' }), /SECKILL_QUEUE_RATE/);
  t.throws(() => loadConfig({ SECKILL_PERSISTER: 'maybe' }), /SECKILL_PERSISTER must be true or false/);
  t.throws(() => loadConfig({ SECKILL_QUEUE_CAPACITY: '10', SECKILL_QUEUE_BURST: '20' }), /SECKILL_QUEUE_BURST.*SECKILL_QUEUE_CAPACITY/);
  t.throws(() => loadConfig({ SECKILL_REDIS_TIMEOUT_MS: '3000' }), /SECKILL_REDIS_TIMEOUT_MS.*SECKILL_QUEUE_TIMEOUT_MS/);
  t.throws(() => loadConfig({ SECKILL_JWT_SECRET: 'a', SECKILL_JWT_PUBLIC_KEY: 'b' }), /not both/);
  t.throws(() => loadConfig({ SECKILL_REDIS_APPENDFSYNC: 'no' }), /SECKILL_REDIS_APPENDFSYNC must be always or everysec/);
  t.throws(() => loadConfig({ SECKILL_LOG_LEVEL: 'loud' }), /SECKILL_LOG_LEVEL must be one of fatal, error/);
  t.throws(() => loadConfig({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'a:7000' }), /REDIS_URL or REDIS_CLUSTER_NODES, not both/);
  t.throws(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:7000,b' }), /REDIS_CLUSTER_NODES: "b" is not host:port/);
  t.throws(() => loadConfig({ REDIS_CLUSTER_NODES: ' , ' }), /REDIS_CLUSTER_NODES must list at least one/);
  t.equal(loadConfig({}, ['--redis-cluster-nodes', '10.0.0.5:7000,[::1]:7001']).redisClusterNodes, '10.0.0.5:7000,[::1]:7001');
  t.throws(() => loadConfig({ SECKILL_IP_RATE: '-5' }), /SECKILL_IP_RATE must be a whole number/);
  t.throws(() => loadConfig({ SECKILL_TRUSTED_PROXIES: '10.0.0.0/8,10.0.0.0/33' }), /SECKILL_TRUSTED_PROXIES: "10.0.0.0\/33" is not an address, a CIDR/);
  t.throws(() => loadConfig({}, ['--trusted-proxies', 'proxy.example.com']), /SECKILL_TRUSTED_PROXIES: "proxy.example.com"/);
  t.throws(() => loadConfig({ SECKILL_TRUSTED_PROXIES: '0.0.0.0/0' }), /SECKILL_TRUSTED_PROXIES: "0.0.0.0\/0"/, 'trusting every address is refused');
  const proxies = loadConfig({ SECKILL_IP_RATE: '20', SECKILL_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1 ,loopback,fd00::/8,192.168.0.0/255.255.0.0' });
  t.equal(proxies.ipRate, 20);
  t.same(trustedProxyList(proxies.trustedProxies), ['10.0.0.0/8', '127.0.0.1', 'loopback', 'fd00::/8', '192.168.0.0/255.255.0.0']);
  t.throws(() => loadConfig({}, ['--nope', '1']), /unknown option --nope/);
  t.throws(() => loadConfig({}, ['extra']), /unexpected argument "extra" \(options start with --\)/, 'a stray word is no option');
  t.throws(() => loadConfig({}, ['--port']), /--port needs a value/);
});

t.test('the README configuration table is the settings table: a row per variable, with its default, and no other', async (t) => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('| variable | default | meaning |'));
  const rows = new Map<string, string>();
  for (const line of table.split('\n').slice(2)) {
    const m = /^\| `([A-Z_]+)` \| ([^|]*) \|/.exec(line);
    if (m === null) break;
    rows.set(m[1]!, m[2]!.trim());
  }
  t.same([...rows.keys()].sort(), SETTINGS.map((s) => s.env).sort(), 'the same variables');
  for (const s of SETTINGS) {
    const shown = s.value === '' ? '(empty)' : s.key === 'dataDir' ? '`./.data`' : String(s.value);
    t.ok(rows.get(s.env)?.startsWith(shown), `${s.env}: the README's default is ${shown} (${rows.get(s.env)})`);
  }
});

t.test('the local redis-server syncs its AOF as configured (always by default)', async (t) => {
  t.equal(DEFAULT_CONFIG.redisAppendfsync, 'always');
  for (const mode of ['always', 'everysec'] as const) {
    const local = await startLocalRedis(tempDir(t), mode);
    t.teardown(() => local.stop());
    const redis = new Redis({ path: local.socket });
    t.teardown(() => redis.disconnect());
    t.same(await redis.config('GET', 'appendfsync'), ['appendfsync', mode], mode);
  }
});

t.test('SECKILL_WORKERS unset: one per core, less one for local services', async (t) => {
  const base = loadConfig({});
  t.equal(base.workers, 0, 'chosen at start');
  t.equal(defaultWorkers(base, 2), 1, '2 cores, local Redis and MariaDB: one process');
  t.equal(defaultWorkers(base, 8), 7, '8 cores: seven workers, a core for the services');
  const remote = loadConfig({ REDIS_URL: 'redis://r:6379', MYSQL_URL: 'mysql://u@m/db' });
  t.equal(defaultWorkers(remote, 2), 2, 'Redis and MySQL elsewhere: every core');
  t.equal(defaultWorkers(remote, 1), 1);
  t.equal(defaultWorkers(loadConfig({ SECKILL_WORKERS: '3' }), 2), 3, 'a number set is kept');
});
