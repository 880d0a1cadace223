import os from 'node:os';
import path from 'node:path';
import proxyaddr from 'proxy-addr';
import { LOG_FORMATS, LOG_LEVELS } from './log';

type Kind = 'int' | 'string' | 'bool';

const int = (env: string, value: number, min: number, max: number, help: string) => ({ env, kind: 'int', value, min, max, help }) as const;
const str = (env: string, value: string, help: string) => ({ env, kind: 'string', value, help }) as const;
const bool = (env: string, value: boolean, help: string) => ({ env, kind: 'bool', value, help }) as const;

/**
 * Every setting, once: the environment variable that sets it, its kind,
 * default (`value`) and bounds, and its one line of help. `Config`,
 * `DEFAULT_CONFIG`, `SETTINGS`, the flags and `seckill serve --help` derive
 * from it; test/config.test.ts keeps the README's table in step (a row per
 * variable, with this default). Read once at start (env, then `--flag value`
 * on the command line, where the flag is the variable's name without
 * SECKILL_, lower-cased, `_` → `-`), then validated; a bad value stops the
 * start with a message naming the variable.
 */
const SETTING_TABLE = {
  port: int('PORT', 8080, 0, 65535, 'HTTP port (0: any free one)'),
  host: str('HOST', '0.0.0.0', 'address to listen on (--demo: 127.0.0.1 unless HOST is set)'),
  workers: int('SECKILL_WORKERS', 0, 0, 256, 'worker processes sharing the port (0: one per core, less one when Redis or MariaDB run locally; 1: one process)'),
  redisUrl: str('REDIS_URL', '', 'redis://… or a unix socket path; empty: start a local redis-server'),
  redisClusterNodes: str('REDIS_CLUSTER_NODES', '', 'host:port,… of a Redis Cluster (instead of REDIS_URL; any few nodes, the rest are discovered)'),
  mysqlUrl: str('MYSQL_URL', '', 'mysql://user:pass@host:3306/db; empty: start a local mariadbd; none: no MySQL (orders stay in Redis)'),
  dataDir: str('SECKILL_DATA_DIR', path.resolve('.data'), 'where local services keep their data'),
  redisAppendfsync: str('SECKILL_REDIS_APPENDFSYNC', 'always', 'appendfsync of the local redis-server: always (one fsync per buy batch) or everysec'),
  jwtSecret: str('SECKILL_JWT_SECRET', '', 'HS256 secret for buyer tokens'),
  jwtPublicKey: str('SECKILL_JWT_PUBLIC_KEY', '', 'PEM (or a path) for RS256/ES256/EdDSA buyer tokens'),
  jwtCacheSize: int('SECKILL_JWT_CACHE_MB', 448, 0, 65_536, 'MiB of memory for verified tokens (0: no cache)'),
  powSecret: str('SECKILL_POW_SECRET', '', 'HMAC key of the proof-of-work challenges (ALTCHA), the same on every server; empty: derived from SECKILL_JWT_SECRET'),
  adminToken: str('SECKILL_ADMIN_TOKEN', '', 'bearer token for /admin/*'),
  metricsToken: str('SECKILL_METRICS_TOKEN', '', 'bearer token that may read /metrics only (the admin token may too)'),
  paymentToken: str('SECKILL_PAYMENT_TOKEN', '', 'bearer token of the payment service (POST …/orders/{n}/paid; the admin token may too)'),
  queueCapacity: int('SECKILL_QUEUE_CAPACITY', 50_000, 1, 10_000_000, 'parked requests at most, for the whole server; past it: code 5'),
  queueRate: int('SECKILL_QUEUE_RATE', 200_000, 1, 100_000_000, 'requests per second sent to Redis, for the whole server'),
  queueBurst: int('SECKILL_QUEUE_BURST', 2_000, 1, 10_000_000, 'token-bucket burst, for the whole server'),
  queueTimeoutMs: int('SECKILL_QUEUE_TIMEOUT_MS', 2_000, 10, 600_000, "a parked request's deadline; past it: code 6"),
  batchSize: int('SECKILL_BATCH_SIZE', 500, 1, 10_000, 'requests per Redis script call at most'),
  redisTimeoutMs: int('SECKILL_REDIS_TIMEOUT_MS', 500, 10, 600_000, "a Redis command's timeout (below the queue timeout)"),
  mysqlTimeoutMs: int('SECKILL_MYSQL_TIMEOUT_MS', 5_000, 100, 600_000, 'a MySQL connect, or the wait for an answer to a request, at most; past it: an error'),
  eventRefreshMs: int('SECKILL_EVENT_REFRESH_MS', 2_000, 100, 3_600_000, 'how often events are re-read (other servers may add them)'),
  persistBatch: int('SECKILL_PERSIST_BATCH', 1_000, 1, 100_000, 'stream entries per read (each one buy batch of orders) and rows per MySQL INSERT'),
  persistWaitMs: int('SECKILL_PERSIST_WAIT_MS', 50, 1, 60_000, 'how long the persister waits when the streams are empty'),
  persistGatherMs: int('SECKILL_PERSIST_GATHER_MS', 20, 0, 10_000, 'how long the persister lets orders gather after a round that was not a full batch (0: none)'),
  persistClaimMs: int('SECKILL_PERSIST_CLAIM_MS', 30_000, 100, 3_600_000, 'orders pending this long on a persister are taken over by another'),
  persister: bool('SECKILL_PERSISTER', true, 'run the persister inside the server (true/false)'),
  stopTimeoutMs: int('SECKILL_STOP_TIMEOUT_MS', 30_000, 1_000, 3_600_000, 'how long a graceful stop may take; past it: local services stopped, exit 1'),
  userRate: int('SECKILL_USER_RATE', 0, 0, 1_000_000, 'buy requests per user per second at most (0: no limit); past it: code 5'),
  ipRate: int('SECKILL_IP_RATE', 0, 0, 1_000_000, 'buy requests per client address per second at most, for the whole server (0: no limit); past it: code 5'),
  trustedProxies: str('SECKILL_TRUSTED_PROXIES', '', 'proxies whose X-Forwarded-For names the client for SECKILL_IP_RATE: addresses, CIDRs, loopback, linklocal or uniquelocal, comma-separated'),
  wsInflight: int('SECKILL_WS_INFLIGHT', 64, 1, 100_000, 'undecided buys per WebSocket connection at most; past it: code 5'),
  blocklist: str('SECKILL_BLOCKLIST', '', 'a file of blocked user ids, one per line, reloaded on change; their buys get code 8'),
  logLevel: str('SECKILL_LOG_LEVEL', 'info', 'fatal, error, warn, info, debug, trace or silent'),
  logFormat: str('SECKILL_LOG_FORMAT', 'auto', 'auto (readable on a terminal, JSON otherwise), json or pretty'),
  corsOrigins: str('SECKILL_CORS_ORIGINS', '', 'origins allowed to call from a browser, exact, comma-separated (empty: no CORS)'),
} as const;

type ValueOf<S> = S extends { readonly kind: 'int' } ? number : S extends { readonly kind: 'bool' } ? boolean : string;

/** The settings, as read (SETTING_TABLE's keys, each of its kind). */
export type Config = { readonly [K in keyof typeof SETTING_TABLE]: ValueOf<(typeof SETTING_TABLE)[K]> };

/** One setting as the loader, the flags and the help read it. */
export interface Setting {
  readonly key: keyof Config;
  readonly env: string;
  readonly kind: Kind;
  readonly value: Config[keyof Config];
  readonly min?: number;
  readonly max?: number;
  readonly help: string;
}

export const SETTINGS: readonly Setting[] = Object.freeze(
  (Object.keys(SETTING_TABLE) as (keyof Config)[]).map((key): Setting => ({ key, ...SETTING_TABLE[key] })),
);

export const DEFAULT_CONFIG: Config = Object.freeze(Object.fromEntries(SETTINGS.map((s) => [s.key, s.value])) as unknown as Config);

/**
 * SECKILL_WORKERS unset (0): one worker per core the process may run on,
 * less one when this server starts its own redis-server or mariadbd, which
 * need a core of their own (on 2 cores that is one process, which two
 * workers do not beat there: bench/README.md "workers"); at least 1.
 */
export function defaultWorkers(config: Config, cores = os.availableParallelism()): number {
  if (config.workers > 0) return config.workers;
  const local = (config.redisUrl === '' && config.redisClusterNodes === '') || config.mysqlUrl === '';
  return Math.max(1, cores - (local ? 1 : 0));
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function flagName(env: string): string {
  return '--' + env.replace(/^SECKILL_/, '').toLowerCase().replace(/_/g, '-');
}

/** `--queue-rate 5000` → { SECKILL_QUEUE_RATE: '5000' }; unknown flags are an error. */
export function flagsToEnv(argv: readonly string[]): Record<string, string> {
  const byFlag = new Map(SETTINGS.map((s) => [flagName(s.env), s.env]));
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const env = byFlag.get(flag);
    if (env === undefined) throw new ConfigError(flag.startsWith('-') ? `unknown option ${flag}` : `unexpected argument "${arg}" (options start with --)`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    out[env] = value;
  }
  return out;
}

function parse(s: Setting, raw: string): Config[keyof Config] {
  if (s.kind === 'string') return raw;
  if (s.kind === 'bool') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new ConfigError(`${s.env} must be true or false, got "${raw}"`);
  }
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${s.env} must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) {
    throw new ConfigError(`${s.env} must be between ${s.min} and ${s.max}, got ${n}`);
  }
  return n;
}

export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  argv: readonly string[] = [],
): Config {
  const source = { ...env, ...flagsToEnv(argv) };
  if (source.SECKILL_JWT_CACHE_SIZE !== undefined) {
    throw new ConfigError('SECKILL_JWT_CACHE_SIZE is gone: the token cache is sized in memory now, SECKILL_JWT_CACHE_MB (default 448, about 1.2 million tokens)');
  }
  const out: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const s of SETTINGS) {
    const raw = source[s.env];
    if (raw !== undefined && raw !== '') out[s.key] = parse(s, raw.trim());
  }
  const config = out as unknown as Config;
  if (config.queueBurst > config.queueCapacity) {
    throw new ConfigError(
      `SECKILL_QUEUE_BURST (${config.queueBurst}) must not exceed SECKILL_QUEUE_CAPACITY (${config.queueCapacity})`,
    );
  }
  if (config.redisTimeoutMs >= config.queueTimeoutMs) {
    throw new ConfigError(
      `SECKILL_REDIS_TIMEOUT_MS (${config.redisTimeoutMs}) must be below SECKILL_QUEUE_TIMEOUT_MS (${config.queueTimeoutMs}) so a stuck Redis call cannot outlive a request's deadline`,
    );
  }
  if (config.redisAppendfsync !== 'always' && config.redisAppendfsync !== 'everysec') {
    throw new ConfigError(`SECKILL_REDIS_APPENDFSYNC must be always or everysec, got "${config.redisAppendfsync}"`);
  }
  if (!LOG_LEVELS.includes(config.logLevel)) {
    throw new ConfigError(`SECKILL_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${config.logLevel}"`);
  }
  if (!LOG_FORMATS.includes(config.logFormat)) {
    throw new ConfigError(`SECKILL_LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}, got "${config.logFormat}"`);
  }
  checkUrls(config);
  corsOriginList(config.corsOrigins);
  trustedProxyList(config.trustedProxies);
  if (config.jwtSecret !== '' && config.jwtPublicKey !== '') {
    throw new ConfigError('set SECKILL_JWT_SECRET or SECKILL_JWT_PUBLIC_KEY, not both');
  }
  return Object.freeze({ ...config, dataDir: path.resolve(config.dataDir) });
}

/** REDIS_URL and MYSQL_URL: a scheme the client speaks, so a wrong one stops the start here, not at the first query. */
function checkUrls(config: Config): void {
  const m = config.mysqlUrl;
  if (m !== '' && m !== 'none' && !/^mysql:\/\//i.test(m)) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(m)?.[1];
    throw new ConfigError(
      `MYSQL_URL must be mysql://user:pass@host:3306/db (or empty, or none), got ${scheme === undefined ? 'no scheme' : `"${scheme}://…"`}`,
    );
  }
  if (config.redisClusterNodes !== '') {
    if (config.redisUrl !== '') {
      throw new ConfigError('set REDIS_URL or REDIS_CLUSTER_NODES, not both (REDIS_URL is one Redis; REDIS_CLUSTER_NODES a Redis Cluster)');
    }
    clusterNodeList(config.redisClusterNodes);
  }
  const r = config.redisUrl;
  const redisScheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(r)?.[1];
  if (redisScheme !== undefined && !/^rediss?$/i.test(redisScheme)) {
    throw new ConfigError(`REDIS_URL must be redis://…, rediss://… or a unix socket path (/…), got "${redisScheme}://…"`);
  }
  if (r !== '' && redisScheme === undefined && !r.startsWith('/')) {
    // MYSQL_URL has a `none`; Redis decides every buy, so REDIS_URL has none.
    if (r.toLowerCase() === 'none') throw new ConfigError('REDIS_URL=none: seckill needs Redis (it decides every buy); leave REDIS_URL empty to start a local redis-server');
    // host:port (what redis-cli takes) would be read by ioredis as a URL with the scheme "host:".
    const hostPort = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(:\d{1,5})?$/.test(r);
    throw new ConfigError(`REDIS_URL must be redis://…, rediss://… or a unix socket path (/…): ${hostPort ? `write redis://${r}` : 'got a value without a scheme'}`);
  }
}

/** REDIS_CLUSTER_NODES → host and port of each node given; a malformed entry names the variable. */
export function clusterNodeList(value: string): { host: string; port: number }[] {
  const nodes = value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (nodes.length === 0) throw new ConfigError('REDIS_CLUSTER_NODES must list at least one host:port');
  return nodes.map((n) => {
    // host:port, or [v6]:port
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]\/]+):(\d{1,5})$/.exec(n);
    const port = Number(m?.[2]);
    if (m?.[1] === undefined || !(port >= 1 && port <= 65535)) {
      throw new ConfigError(`REDIS_CLUSTER_NODES: "${n}" is not host:port (like 10.0.0.5:7000)`);
    }
    return { host: m[1].replace(/^\[|\]$/g, ''), port };
  });
}

/** SECKILL_CORS_ORIGINS → the exact origins, each `scheme://host[:port]`; a malformed one names the variable. */
export function corsOriginList(value: string): string[] {
  const origins = value.split(',').map((o) => o.trim()).filter((o) => o !== '');
  for (const o of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(o)) {
      throw new ConfigError(`SECKILL_CORS_ORIGINS: "${o}" is not an origin like https://shop.example.com (no path, no trailing slash)`);
    }
  }
  return origins;
}

/**
 * SECKILL_TRUSTED_PROXIES → its entries, each one proxy-addr can compile
 * (an address, a CIDR or netmask, or loopback / linklocal / uniquelocal);
 * a bad one names the variable, so the server does not start trusting less
 * (or more) than the operator wrote.
 */
export function trustedProxyList(value: string): string[] {
  const entries = value.split(',').map((e) => e.trim()).filter((e) => e !== '');
  for (const e of entries) {
    try {
      proxyaddr.compile(e);
    } catch (err) {
      throw new ConfigError(
        `SECKILL_TRUSTED_PROXIES: "${e}" is not an address, a CIDR (10.0.0.0/8) or one of loopback, linklocal, uniquelocal (${(err as Error).message})`,
      );
    }
  }
  return entries;
}
