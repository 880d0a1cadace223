import os from 'node:os';
import path from 'node:path';
import { LOG_FORMATS, LOG_LEVELS } from './log';

/**
 * Every setting, its default, and the environment variable that sets it.
 * Read once at start (env, then `--flag value` on the command line, where the
 * flag is the variable's name without SECKILL_, lower-cased, `_` → `-`), then
 * validated; a bad value stops the start with a message naming the variable.
 */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Worker processes sharing the port; 1: one process does everything; 0: chosen at start (defaultWorkers). */
  readonly workers: number;
  /** `redis://…` / `rediss://…` / a unix socket path; empty: start a local redis-server. */
  readonly redisUrl: string;
  /** `host:port,host:port,…` of Redis Cluster nodes (any few; the rest are discovered); empty: no Cluster. */
  readonly redisClusterNodes: string;
  /** `mysql://user:pass@host:port/db`; empty: start a local mariadbd; `none`: no MySQL (orders stay in Redis). */
  readonly mysqlUrl: string;
  readonly dataDir: string;
  /** appendfsync of the local redis-server: always (nothing acknowledged is lost on power loss) or everysec. */
  readonly redisAppendfsync: string;
  readonly jwtSecret: string;
  /** PEM text, or a path to a PEM file. */
  readonly jwtPublicKey: string;
  /** The verified-token cache's memory budget in MiB (SECKILL_JWT_CACHE_MB; 0: no cache). */
  readonly jwtCacheSize: number;
  readonly adminToken: string;
  /** Bearer token that may read /metrics only (the admin token may too). */
  readonly metricsToken: string;
  /** Bearer token of the payment service: may mark orders paid (the admin token may too). */
  readonly paymentToken: string;
  readonly queueCapacity: number;
  /** Requests per second the consumer may send to Redis. */
  readonly queueRate: number;
  readonly queueBurst: number;
  readonly queueTimeoutMs: number;
  readonly batchSize: number;
  readonly redisTimeoutMs: number;
  /** A MySQL connect, or a request's first byte of answer, takes this long at most; past it: an error. */
  readonly mysqlTimeoutMs: number;
  /** How often events are re-read from the store (other servers may add them). */
  readonly eventRefreshMs: number;
  readonly persistBatch: number;
  readonly persistWaitMs: number;
  readonly persistGatherMs: number;
  /** Stream entries pending this long on a persister are taken over by another. */
  readonly persistClaimMs: number;
  readonly persister: boolean;
  /** A graceful stop gets this long; past it the stop is forced (local services stopped, exit 1). */
  readonly stopTimeoutMs: number;
  /** Buy requests per user per second at most (0: no limit); past it, code 5. */
  readonly userRate: number;
  /** Undecided buys one WebSocket connection may have at once; past it: code 5. */
  readonly wsInflight: number;
  /** A file of blocked user ids (one per line), reloaded on change; their buys get code 8. */
  readonly blocklist: string;
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  readonly logLevel: string;
  /** auto (readable on a terminal, JSON otherwise), json or pretty. */
  readonly logFormat: string;
  /** Origins (exact, comma-separated) whose pages may call the API from a browser; empty: no CORS. */
  readonly corsOrigins: string;
}

export const DEFAULT_CONFIG: Config = Object.freeze({
  port: 8080,
  workers: 0,
  host: '0.0.0.0',
  redisUrl: '',
  redisClusterNodes: '',
  mysqlUrl: '',
  dataDir: path.resolve('.data'),
  redisAppendfsync: 'always',
  jwtSecret: '',
  jwtPublicKey: '',
  jwtCacheSize: 448,
  adminToken: '',
  metricsToken: '',
  paymentToken: '',
  queueCapacity: 50_000,
  queueRate: 200_000,
  queueBurst: 2_000,
  queueTimeoutMs: 2_000,
  batchSize: 500,
  redisTimeoutMs: 500,
  mysqlTimeoutMs: 5_000,
  eventRefreshMs: 2_000,
  persistBatch: 1_000,
  persistWaitMs: 50,
  persistGatherMs: 20,
  persistClaimMs: 30_000,
  persister: true,
  stopTimeoutMs: 30_000,
  userRate: 0,
  wsInflight: 64,
  blocklist: '',
  logLevel: 'info',
  logFormat: 'auto',
  corsOrigins: '',
});

type Kind = 'int' | 'string' | 'bool';
interface Setting {
  readonly key: keyof Config;
  readonly env: string;
  readonly kind: Kind;
  readonly min?: number;
  readonly max?: number;
}

/** The table the README's configuration section documents. */
export const SETTINGS: readonly Setting[] = Object.freeze([
  { key: 'port', env: 'PORT', kind: 'int', min: 0, max: 65535 },
  { key: 'host', env: 'HOST', kind: 'string' },
  { key: 'workers', env: 'SECKILL_WORKERS', kind: 'int', min: 0, max: 256 },
  { key: 'redisUrl', env: 'REDIS_URL', kind: 'string' },
  { key: 'redisClusterNodes', env: 'REDIS_CLUSTER_NODES', kind: 'string' },
  { key: 'mysqlUrl', env: 'MYSQL_URL', kind: 'string' },
  { key: 'dataDir', env: 'SECKILL_DATA_DIR', kind: 'string' },
  { key: 'redisAppendfsync', env: 'SECKILL_REDIS_APPENDFSYNC', kind: 'string' },
  { key: 'jwtSecret', env: 'SECKILL_JWT_SECRET', kind: 'string' },
  { key: 'jwtPublicKey', env: 'SECKILL_JWT_PUBLIC_KEY', kind: 'string' },
  { key: 'jwtCacheSize', env: 'SECKILL_JWT_CACHE_MB', kind: 'int', min: 0, max: 65_536 },
  { key: 'adminToken', env: 'SECKILL_ADMIN_TOKEN', kind: 'string' },
  { key: 'metricsToken', env: 'SECKILL_METRICS_TOKEN', kind: 'string' },
  { key: 'paymentToken', env: 'SECKILL_PAYMENT_TOKEN', kind: 'string' },
  { key: 'queueCapacity', env: 'SECKILL_QUEUE_CAPACITY', kind: 'int', min: 1, max: 10_000_000 },
  { key: 'queueRate', env: 'SECKILL_QUEUE_RATE', kind: 'int', min: 1, max: 100_000_000 },
  { key: 'queueBurst', env: 'SECKILL_QUEUE_BURST', kind: 'int', min: 1, max: 10_000_000 },
  { key: 'queueTimeoutMs', env: 'SECKILL_QUEUE_TIMEOUT_MS', kind: 'int', min: 10, max: 600_000 },
  { key: 'batchSize', env: 'SECKILL_BATCH_SIZE', kind: 'int', min: 1, max: 10_000 },
  { key: 'redisTimeoutMs', env: 'SECKILL_REDIS_TIMEOUT_MS', kind: 'int', min: 10, max: 600_000 },
  { key: 'mysqlTimeoutMs', env: 'SECKILL_MYSQL_TIMEOUT_MS', kind: 'int', min: 100, max: 600_000 },
  { key: 'eventRefreshMs', env: 'SECKILL_EVENT_REFRESH_MS', kind: 'int', min: 100, max: 3_600_000 },
  { key: 'persistBatch', env: 'SECKILL_PERSIST_BATCH', kind: 'int', min: 1, max: 100_000 },
  { key: 'persistWaitMs', env: 'SECKILL_PERSIST_WAIT_MS', kind: 'int', min: 1, max: 60_000 },
  { key: 'persistGatherMs', env: 'SECKILL_PERSIST_GATHER_MS', kind: 'int', min: 0, max: 10_000 },
  { key: 'persistClaimMs', env: 'SECKILL_PERSIST_CLAIM_MS', kind: 'int', min: 100, max: 3_600_000 },
  { key: 'persister', env: 'SECKILL_PERSISTER', kind: 'bool' },
  { key: 'stopTimeoutMs', env: 'SECKILL_STOP_TIMEOUT_MS', kind: 'int', min: 1_000, max: 3_600_000 },
  { key: 'userRate', env: 'SECKILL_USER_RATE', kind: 'int', min: 0, max: 1_000_000 },
  { key: 'wsInflight', env: 'SECKILL_WS_INFLIGHT', kind: 'int', min: 1, max: 100_000 },
  { key: 'blocklist', env: 'SECKILL_BLOCKLIST', kind: 'string' },
  { key: 'logLevel', env: 'SECKILL_LOG_LEVEL', kind: 'string' },
  { key: 'logFormat', env: 'SECKILL_LOG_FORMAT', kind: 'string' },
  { key: 'corsOrigins', env: 'SECKILL_CORS_ORIGINS', kind: 'string' },
] satisfies Setting[]);

/**
 * SECKILL_WORKERS unset (0): one worker per core the process may run on,
 * less one when this server starts its own redis-server or mariadbd, which
 * need a core of their own (on 2 cores that is one process: two workers
 * there sell more slowly, bench/README.md "workers"); at least 1.
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
    if (env === undefined) throw new ConfigError(`unknown option ${flag}`);
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
