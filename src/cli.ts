#!/usr/bin/env node
import { startApp } from './app';
import { mintToken } from './auth/jwt';
import { ConfigError, loadConfig, type Config } from './config';
import { demoBanner, ensureDemoEvent } from './demo';
import { parseTime } from './events/definition';
import { log } from './log';
import { ensureDevSecrets, readDevSecrets } from './services/secrets';
import { connectExisting } from './services/connect-existing';
import { Catalog } from './events/catalog';
import { EventStore } from './events/event-store';
import { Persister, persisterName } from './orders/persister';
import { formatReports, reconcileEvent } from './orders/reconcile';
import { EVENT_ID } from './redis/keys';

const USAGE = `usage:
  seckill serve [--demo] [--port N] [--queue-rate N] ...   run the server (flags mirror the env variables)
  seckill token --user ID [--ttl 1h]                       mint a buyer JWT (HS256, SECKILL_JWT_SECRET)
  seckill event put ID --stock N --start T --end T [--name S] [--url http://127.0.0.1:8080]
                                                           create or change an event (T: ISO-8601 or epoch ms)
  seckill persister                                        move orders from the Redis streams to MySQL (standalone)
  seckill reconcile [EVENT...] [--repair]                  compare Redis and MySQL; exit 1 on any mismatch`;

/** Pulls `--name value` pairs listed in `names` out of argv; returns them and the rest. */
function takeOptions(argv: string[], names: readonly string[]): [Record<string, string>, string[]] {
  const taken: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const name = flag.replace(/^--/, '');
    if (flag.startsWith('--') && names.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new ConfigError(`${flag} needs a value`);
      taken[name] = value;
    } else {
      rest.push(arg);
    }
  }
  return [taken, rest];
}

/** "90s", "15m", "1h", "2d" or plain milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new ConfigError(`--ttl: expected a duration like 90s, 15m, 1h or 2d, got "${text}"`);
  const unit = { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * unit;
}

function jwtSecretFor(config: Config): string {
  const secret = config.jwtSecret || readDevSecrets(config.dataDir)?.jwtSecret;
  if (!secret) throw new ConfigError('set SECKILL_JWT_SECRET (or run `npm start` once to make demo secrets)');
  return secret;
}

async function serve(argv: string[]): Promise<void> {
  const demo = argv.includes('--demo');
  let config = loadConfig(process.env, argv.filter((a) => a !== '--demo'));
  if (demo && config.jwtSecret === '' && config.jwtPublicKey === '') {
    const secrets = ensureDevSecrets(config.dataDir);
    config = Object.freeze({ ...config, jwtSecret: secrets.jwtSecret, adminToken: config.adminToken || secrets.adminToken });
  }
  const app = await startApp(config);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'signal');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (demo) {
    await ensureDemoEvent(app);
    if (config.jwtSecret !== '') process.stdout.write(demoBanner(app.port, config.jwtSecret, config.adminToken) + '\n');
  }
}

function token(argv: string[]): void {
  const [opts, rest] = takeOptions(argv, ['user', 'ttl']);
  const config = loadConfig(process.env, rest);
  if (!opts.user) throw new ConfigError('token: --user ID is required');
  process.stdout.write(mintToken(jwtSecretFor(config), opts.user, opts.ttl === undefined ? undefined : parseDuration(opts.ttl)) + '\n');
}

async function eventPut(argv: string[]): Promise<void> {
  const [opts, rest] = takeOptions(argv, ['stock', 'start', 'end', 'name', 'url']);
  const [id, ...flags] = rest;
  if (id === undefined || id.startsWith('--')) throw new ConfigError('event put: the event id is required');
  const config = loadConfig(process.env, flags);
  const adminToken = config.adminToken || readDevSecrets(config.dataDir)?.adminToken;
  if (!adminToken) throw new ConfigError('set SECKILL_ADMIN_TOKEN (the running server\'s admin token)');
  const body = {
    stock: Number(opts.stock),
    start: parseTime(opts.start) ?? opts.start,
    end: parseTime(opts.end) ?? opts.end,
    ...(opts.name === undefined ? {} : { name: opts.name }),
  };
  const url = `${opts.url ?? `http://127.0.0.1:${config.port}`}/admin/events/${encodeURIComponent(id)}`;
  const res = await fetch(url, {
    method: 'PUT',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  process.stdout.write((await res.text()) + '\n');
  if (!res.ok) process.exitCode = 1;
}

/** The persister on its own, so N servers (SECKILL_PERSISTER=false) can share one or several. */
async function persister(argv: string[]): Promise<void> {
  const config = loadConfig(process.env, argv);
  log.level = config.logLevel;
  const { redis, pool } = await connectExisting(config, 'seckill-persister');
  const catalog = new Catalog(redis, undefined, false);
  await catalog.refresh();
  catalog.startRefreshing(config.eventRefreshMs);
  const p = new Persister(redis, pool, () => catalog.all(), {
    batch: config.persistBatch,
    waitMs: config.persistWaitMs,
    claimIdleMs: config.persistClaimMs,
    consumer: persisterName(config.dataDir, 'standalone'),
  });
  p.start();
  log.info({ consumer: p.consumer }, 'persister running');
  const stop = (signal: string): void => {
    log.info({ signal }, 'signal');
    catalog.close();
    void p.flush(10_000).then(async (flushed) => {
      log.info({ persisted: p.persisted, flushed }, 'persister stopped');
      await redis.quit().catch(() => undefined);
      await pool.end().catch(() => undefined);
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

async function reconcile(argv: string[]): Promise<void> {
  const repair = argv.includes('--repair');
  const rest = argv.filter((a) => a !== '--repair');
  const firstFlag = rest.findIndex((a) => a.startsWith('--'));
  const events = firstFlag < 0 ? rest : rest.slice(0, firstFlag);
  const config = loadConfig(process.env, firstFlag < 0 ? [] : rest.slice(firstFlag));
  for (const e of events) if (!EVENT_ID.test(e)) throw new ConfigError(`reconcile: "${e}" is not an event id`);
  const { redis, pool } = await connectExisting(config, 'seckill-reconcile');
  try {
    const store = new EventStore(pool);
    let ids = events;
    if (ids.length === 0) {
      const catalog = new Catalog(redis, undefined, false);
      await catalog.refresh();
      ids = [...catalog.all()].map((e) => e.id).sort();
    }
    const reports = [];
    for (const id of ids) reports.push(await reconcileEvent(redis, pool, store, id, repair));
    process.stdout.write(formatReports(reports) + '\n');
    const repaired = reports.reduce((n, r) => n + r.repaired, 0);
    if (repair) process.stdout.write(`repair: wrote ${repaired} order(s) to MySQL from Redis' buyers\n`);
    if (reports.some((r) => r.problems.length > 0)) process.exitCode = 1;
  } finally {
    await redis.quit().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'serve') return serve(rest);
  if (command === '--demo') return serve(argv);
  if (command === 'token') return token(rest);
  if (command === 'event' && rest[0] === 'put') return eventPut(rest.slice(1));
  if (command === 'persister') return persister(rest);
  if (command === 'reconcile') return reconcile(rest);
  process.stderr.write(USAGE + '\n');
  process.exitCode = command === 'help' || command === '--help' ? 0 : 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`seckill: ${err.message}\n`);
    else log.error({ err }, 'fatal');
    process.exit(1);
  });
}
