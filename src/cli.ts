#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { startApp, type RunningApp } from './app';
import { mintToken } from './auth/jwt';
import { AdminApi } from './cli/admin-api';
import { eventGet, eventList, eventPause } from './cli/event-list';
import { eventPut } from './cli/event-put';
import { fatal } from './cli/fatal';
import { refusalOf } from './cli/refusal';
import { HELP } from './cli/help';
import { onStopSignals } from './cli/stop-signals';
import { parseDuration } from './cli/time';
import { ConfigError, loadConfig, type Config } from './config';
import { demoBanner, ensureDemoEvent } from './demo';
import { exitOnUncaught, log, setLogFormat } from './log';
import { flushRepeatedLogs } from './log-repeat';
import { ensureDevSecrets, readDevSecrets } from './services/secrets';
import { connectExisting } from './services/connect-existing';
import { Catalog } from './events/catalog';
import { EventStore } from './events/event-store';
import { Persister, persisterName } from './orders/persister';
import { unpersistedOrders } from './orders/unpersisted';
import { holdsDataDir } from './services/data-dir-lock';
import { localServicesOf } from './services/start';
import { stopLocalServices } from './services/stop-local';
import { holdRestarts } from './services/supervise';
import { formatReports, reconcileEvent } from './orders/reconcile';
import { drawVerify } from './cli/draw-verify';
import { EVENT_ID, eventKeys } from './redis/keys';

/** A token lives this long unless --ttl says otherwise (--ttl none: no exp). */
export const DEFAULT_TOKEN_TTL = '24h';

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

/** loadConfig, then the log settings applied at once (a later fatal line is in the chosen format). */
function configFrom(env: Readonly<Record<string, string | undefined>>, argv: readonly string[]): Config {
  const config = loadConfig(env, argv);
  log.level = config.logLevel;
  setLogFormat(config.logFormat);
  return config;
}

function jwtSecretFor(config: Config): string {
  const secret = config.jwtSecret || readDevSecrets(config.dataDir)?.jwtSecret;
  if (!secret) throw new ConfigError('set SECKILL_JWT_SECRET (or run `npm start` once to make demo secrets)');
  return secret;
}

/** What would only fail later, deep in the start, checked first with a message that names the variable. */
function preflight(config: Config): void {
  if (config.jwtSecret === '' && config.jwtPublicKey === '') {
    throw new ConfigError('set SECKILL_JWT_SECRET (HS256) or SECKILL_JWT_PUBLIC_KEY (RS256/ES256/EdDSA) to verify buyer tokens (or try: npm start)');
  }
  if (config.blocklist !== '') {
    try {
      fs.accessSync(config.blocklist, fs.constants.R_OK);
    } catch (err) {
      throw new ConfigError(`SECKILL_BLOCKLIST: cannot read ${config.blocklist} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
}

async function serve(argv: string[]): Promise<void> {
  const demo = argv.includes('--demo');
  // The demo prints its admin token: it stays on this machine unless HOST says otherwise.
  const env = demo ? { ...process.env, HOST: process.env.HOST || '127.0.0.1' } : process.env;
  let config = configFrom(env, argv.filter((a) => a !== '--demo'));
  if (demo && config.jwtSecret === '' && config.jwtPublicKey === '') {
    const secrets = ensureDevSecrets(config.dataDir);
    config = Object.freeze({ ...config, jwtSecret: secrets.jwtSecret, adminToken: config.adminToken || secrets.adminToken });
  }
  preflight(config);
  // Signals are handled from before the start: one that comes while the local services
  // start is acted on once they are up, so none is left running.
  let app: RunningApp | undefined;
  let stopping = false;
  let forcing = false;
  /**
   * The stop that cannot wait for the graceful one: the local services are
   * stopped through their pid files (the graceful path holds their handles
   * and may be stuck), what is not in MySQL yet is named, and the exit is 1.
   * Only services of a data folder this process holds: a server refused the
   * folder (another one's) stops nothing of it.
   */
  const force = async (why: string): Promise<void> => {
    if (forcing) return;
    forcing = true;
    const unpersisted = app === undefined ? undefined : await unpersistedOrders(app.redis, app.catalog.all());
    log.warn({ unpersisted: unpersisted ?? 'unknown' }, `${why}: stopping the local services and exiting now; orders not yet in MySQL stay in the Redis streams for the next start`);
    holdRestarts();
    const stopped = holdsDataDir(config.dataDir) ? await stopLocalServices(config.dataDir, localServicesOf(config)) : [];
    if (stopped.length > 0) log.warn({ stopped }, 'local services stopped');
    process.exit(1);
  };
  const close = (running: RunningApp): void => {
    running.close().then(
      () => {
        // A forced stop under way ends the process itself, with 1 (the graceful one may finish first: it was waiting for what the force stops).
        if (!forcing) process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        void force('shutdown failed');
      },
    );
  };
  onStopSignals(
    (signal) => {
      stopping = true;
      log.info({ signal }, app === undefined ? 'signal: stopping once started' : 'signal');
      // The graceful stop waits on Redis, MySQL and the clients; a stalled one must not keep the process (and its services) for ever.
      setTimeout(() => void force(`stop deadline passed (SECKILL_STOP_TIMEOUT_MS, ${config.stopTimeoutMs} ms)`), config.stopTimeoutMs);
      if (app !== undefined) close(app);
    },
    (signal) => void force(`second signal (${signal})`),
  );
  app = await startApp(config);
  if (stopping) return close(app);
  if (demo) {
    // A signal may come while the demo sale is being set up: the closing connections then fail it, and that is no error.
    const sale = await ensureDemoEvent(app).catch((err: unknown) => {
      if (!stopping) throw err;
    });
    if (sale !== undefined && config.jwtSecret !== '') {
      process.stdout.write(demoBanner(config.host, app.port, config.jwtSecret, config.adminToken, sale, config.dataDir) + '\n');
    }
  }
}

function token(argv: string[]): void {
  const [opts, rest] = takeOptions(argv, ['user', 'ttl']);
  const config = configFrom(process.env, rest);
  if (!opts.user) throw new ConfigError('token: --user ID is required (see seckill token --help)');
  const ttl = opts.ttl ?? DEFAULT_TOKEN_TTL;
  const ttlMs = ttl === 'none' ? undefined : parseDuration(ttl, '--ttl');
  if (ttlMs === 0) throw new ConfigError('--ttl: a token that has already expired is of no use; use --ttl none for no expiry');
  process.stdout.write(mintToken(jwtSecretFor(config), opts.user, ttlMs) + '\n');
}

/** What the `event` commands share: the server's admin API, from --url or $PORT, with SECKILL_ADMIN_TOKEN or the demo's. */
function adminApi(url: string | undefined, flags: string[]): AdminApi {
  const config = configFrom(process.env, flags);
  const adminToken = config.adminToken || readDevSecrets(config.dataDir)?.adminToken;
  if (!adminToken) throw new ConfigError("set SECKILL_ADMIN_TOKEN (the running server's admin token)");
  return new AdminApi((url ?? `http://127.0.0.1:${config.port}`).replace(/\/+$/, ''), adminToken);
}

/** The event id an `event` command names first; `command` words its errors. */
function eventId(rest: string[], command: string): [string, string[]] {
  const [id, ...flags] = rest;
  if (id === undefined || id.startsWith('--')) throw new ConfigError(`${command}: the event id is required (see seckill ${command} --help)`);
  if (!EVENT_ID.test(id)) throw new ConfigError(`${command}: "${id}" is not an event id ([A-Za-z0-9_-]{1,64})`);
  return [id, flags];
}

async function eventPutCommand(argv: string[]): Promise<void> {
  const [opts, rest] = takeOptions(argv, ['stock', 'start', 'end', 'name', 'pay-within', 'pow', 'draw', 'limit', 'skus', 'url']);
  const [id, flags] = eventId(rest, 'event put');
  const { ok, text, notes } = await eventPut(adminApi(opts.url, flags), id, opts);
  for (const note of notes) process.stderr.write(note + '\n');
  // A refusal is an error like any other (one line, `seckill: …`, or a fatal log line): stdout is for the event put.
  if (!ok) throw new ConfigError(`event put ${id}: ${refusalOf(text)}`);
  process.stdout.write(text + '\n');
}

async function eventListCommand(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const [opts, flags] = takeOptions(argv.filter((a) => a !== '--json'), ['url']);
  process.stdout.write((await eventList(adminApi(opts.url, flags), json)) + '\n');
}

async function eventGetCommand(argv: string[]): Promise<void> {
  const [opts, rest] = takeOptions(argv, ['url']);
  const [id, flags] = eventId(rest, 'event get');
  process.stdout.write((await eventGet(adminApi(opts.url, flags), id)) + '\n');
}

function eventPauseCommand(on: boolean): (argv: string[]) => Promise<void> {
  return async (argv) => {
    const [opts, rest] = takeOptions(argv, ['url']);
    const [id, flags] = eventId(rest, on ? 'event pause' : 'event resume');
    process.stdout.write((await eventPause(adminApi(opts.url, flags), id, on)) + '\n');
  };
}

/** `seckill draw verify EVENT --url URL [--user ID]`: public routes only, no token. */
async function drawVerifyCommand(argv: string[]): Promise<void> {
  const [opts, rest] = takeOptions(argv, ['url', 'user']);
  const [id, flags] = eventId(rest, 'draw verify');
  const config = configFrom(process.env, flags);
  const { ok, lines } = await drawVerify(opts.url ?? `http://127.0.0.1:${config.port}`, id, opts.user);
  process.stdout.write(lines.join('\n') + '\n');
  if (!ok) process.exitCode = 1;
}

/** The persister on its own, so N servers (SECKILL_PERSISTER=false) can share one or several. */
async function persister(argv: string[]): Promise<void> {
  const config = configFrom(process.env, argv);
  const { redis, pool } = await connectExisting(config, 'seckill-persister');
  const catalog = new Catalog(redis, undefined, false);
  await catalog.refresh();
  catalog.startRefreshing(config.eventRefreshMs);
  const p = new Persister(redis, pool, () => catalog.all(), {
    batch: config.persistBatch,
    waitMs: config.persistWaitMs,
    gatherMs: config.persistGatherMs,
    claimIdleMs: config.persistClaimMs,
    consumer: persisterName(config.dataDir, 'standalone'),
  });
  p.start();
  log.info({ consumer: p.consumer }, 'persister running');
  onStopSignals(
    (signal) => {
      log.info({ signal }, 'signal');
      setTimeout(() => {
        log.warn({ persisted: p.persisted }, `stop deadline passed (SECKILL_STOP_TIMEOUT_MS, ${config.stopTimeoutMs} ms): exiting now; orders not yet in MySQL stay in the Redis streams`);
        process.exit(1);
      }, config.stopTimeoutMs);
      catalog.close();
      void p.flush(10_000).then(async (flushed) => {
        log.info({ persisted: p.persisted, flushed }, 'persister stopped');
        await redis.quit().catch(() => undefined);
        await pool.end().catch(() => undefined);
        process.exit(0);
      });
    },
    (signal) => {
      log.warn({ signal, persisted: p.persisted }, 'second signal: exiting now; orders not yet in MySQL stay in the Redis streams');
      process.exit(1);
    },
  );
}

async function reconcile(argv: string[]): Promise<void> {
  const repair = argv.includes('--repair');
  const rest = argv.filter((a) => a !== '--repair');
  const firstFlag = rest.findIndex((a) => a.startsWith('--'));
  const events = firstFlag < 0 ? rest : rest.slice(0, firstFlag);
  const config = configFrom(process.env, firstFlag < 0 ? [] : rest.slice(firstFlag));
  for (const e of events) if (!EVENT_ID.test(e)) throw new ConfigError(`reconcile: "${e}" is not an event id`);
  const { redis, pool } = await connectExisting(config, 'seckill-reconcile');
  try {
    const store = new EventStore(pool);
    // An id in neither Redis nor MySQL is a typo, not an event with nothing sold: no row of zeros for it.
    const unknown = [];
    for (const id of events) if ((await redis.exists(eventKeys(id).meta)) === 0 && !(await store.has(id))) unknown.push(id);
    if (unknown.length > 0) throw new ConfigError(`reconcile: no such event ${unknown.map((id) => `"${id}"`).join(', ')} (in neither Redis nor MySQL)`);
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

export function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

const COMMANDS: Readonly<Record<string, (argv: string[]) => void | Promise<void>>> = {
  serve,
  token,
  'event put': eventPutCommand,
  'event list': eventListCommand,
  'event get': eventGetCommand,
  'event pause': eventPauseCommand(true),
  'event resume': eventPauseCommand(false),
  'draw verify': drawVerifyCommand,
  persister,
  reconcile,
};

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version') {
    process.stdout.write(`seckill ${version()} (node ${process.version})\n`);
    return;
  }
  // `seckill`, `seckill --demo` and `seckill --port 9000` are `seckill serve …`.
  const implicitServe = argv.length === 0 || (argv[0]!.startsWith('--') && argv[0] !== '--help' && argv[0] !== '-h');
  // `event` takes a second word (put, list, get, pause, resume); `seckill event` and `seckill event --help` are its help.
  const eventWord = (argv[0] === 'event' || argv[0] === 'draw') && argv[1] !== undefined && !argv[1].startsWith('-');
  const words = implicitServe ? ['serve'] : eventWord ? argv.slice(0, 2) : argv.slice(0, 1);
  const command = words.join(' ');
  const rest = implicitServe ? argv : argv.slice(words.length);
  const help = rest.includes('--help') || rest.includes('-h');
  const run = COMMANDS[command];
  if (run !== undefined && !help) return run(rest);
  const page = HELP[command] !== undefined ? command : command.startsWith('event') ? 'event' : 'main';
  // Help asked for is on stdout with 0; a command missing or unknown gets the nearest help on stderr, with 2.
  const asked = ['help', '--help', '-h'].includes(command) || (help && page === command);
  (asked ? process.stdout : process.stderr).write((HELP[page]?.() ?? '') + '\n');
  if (!asked) process.stderr.write(command === 'event' ? '\nseckill: event needs a command: put, list, get, pause or resume\n' : `\nseckill: unknown command "${command}"\n`);
  process.exitCode = asked ? 0 : 2;
}

/** The command line: this file run directly (the Docker image's `seckill`), or through bin/seckill.js (a checkout's `npx seckill`). */
export function runCli(): void {
  // Repeats of a failure counted and not yet told are logged on the way out.
  process.on('exit', flushRepeatedLogs);
  exitOnUncaught();
  main(process.argv.slice(2)).catch(fatal);
}

if (require.main === module) runCli();
