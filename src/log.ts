import pino from 'pino';
import { prettyLine } from './log-pretty';

export const LOG_LEVELS: readonly string[] = Object.freeze(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
export const LOG_FORMATS: readonly string[] = Object.freeze(['auto', 'json', 'pretty']);

/** True when log lines go to a person: stderr is a terminal. */
export function stderrIsTerminal(): boolean {
  return process.stderr.isTTY === true;
}

let pretty = stderrIsTerminal();

/** SECKILL_LOG_FORMAT: `auto` (readable lines on a terminal, JSON otherwise), `json` or `pretty`. */
export function setLogFormat(format: string): void {
  pretty = format === 'pretty' || (format === 'auto' && stderrIsTerminal());
}

export function logIsPretty(): boolean {
  return pretty;
}

const DEBUG = 20;
const ERROR = 50;

/**
 * While a dependency is known to be away (src/services/redis-watch.ts says
 * so, once, with its address), the same connection error comes back from
 * every retry, refresh and batch: those warnings are counted here instead of
 * written, and the line that says it is back carries the count.
 */
export const outageNoise = {
  active: 0,
  suppressed: 0,
  /** Set by the watcher: finds a connection already broken whose outage is not yet reported (and reports it). */
  detect: (): boolean => false,
};
const NOISE = /Stream isn't writeable|Connection is closed|ECONNREFUSED|ENOENT|ECONNRESET|EPIPE|ETIMEDOUT|Command timed out|max retries|enableOfflineQueue/i;

function isOutageNoise(first: unknown): boolean {
  if (typeof first !== 'object' || first === null || !('err' in first)) return false;
  const err = (first as { err: unknown }).err;
  const message = typeof err === 'string' ? err : err instanceof Error ? err.message : '';
  if (!NOISE.test(message)) return false;
  // A command can fail on a closed socket before ioredis reports the close: ask the watcher first.
  if (outageNoise.active === 0 && !outageNoise.detect()) return false;
  outageNoise.suppressed++;
  return true;
}
/**
 * ioredis attaches the failed command to its errors: its name and every
 * argument, so a script's whole source (EVAL, after NOSCRIPT) and a buy
 * batch's user ids. Logged as is, one Redis Cluster shard restart made 920
 * warnings of 600 KB in 2 s. These fields are never logged, at any depth.
 */
const UNLOGGED_ERROR_FIELDS: ReadonlySet<string> = new Set(['command', 'args', 'previousErrors']);
/** A backstop for any other field that carries a payload. */
const MAX_ERROR_STRING = 2_000;

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    return value.length <= MAX_ERROR_STRING ? value : `${value.slice(0, MAX_ERROR_STRING)}… (${value.length - MAX_ERROR_STRING} more characters)`;
  }
  if (typeof value !== 'object' || value === null) return value;
  if (depth > 3) return '[nested]';
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (!UNLOGGED_ERROR_FIELDS.has(key)) out[key] = scrub(v, depth + 1);
  return out;
}

/** The `err` serializer of every log line: pino's, less the fields above. */
export function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return scrub(err, 0);
  return scrub({ ...(pino.stdSerializers.err(err) as unknown as Record<string, unknown>) }, 0);
}

const destination = pino.destination({ dest: 2, sync: true });

/**
 * The process's logger: pino, on stderr (stdout stays free for what a
 * command prints, like `seckill token`), one line per lifecycle event or
 * error. Nothing on the buy path logs at info level. JSON lines for log
 * collectors; on a terminal the same records as readable lines
 * (src/log-pretty.ts: no worker thread, no extra dependency). Writes are
 * synchronous: there are few of them, and a line written just before
 * `process.exit` must not be lost. The level comes from SECKILL_LOG_LEVEL.
 */
export const log = pino(
  {
    level: 'info',
    hooks: {
      logMethod(args, method, level) {
        if (level >= ERROR || !isOutageNoise(args[0])) method.apply(this, args);
      },
    },
    serializers: { err: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  { write: (line: string) => destination.write(pretty ? prettyLine(line, log.levelVal <= DEBUG) : line) },
);

/**
 * The last line of a process that cannot go on: at level fatal, it says
 * what went wrong (the message's first line, and the error's `code` when it
 * has one), never where: a stack in a fatal line is noise to the operator who
 * reads it. The stack goes in a debug line just before it, for whoever runs
 * with SECKILL_LOG_LEVEL=debug to report a defect.
 */
export function logFatal(err: unknown, msg: string): void {
  if (err instanceof Error) log.debug({ err }, `the stack of: ${msg}`);
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  log.fatal(typeof code === 'string' ? { code } : {}, msg);
}

/** The first line of an error's message (a person reads one line; the rest is in the debug line). */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/**
 * A failure nothing caught (an 'uncaughtException' or 'unhandledRejection')
 * is a defect: one fatal line (node's own report would be plain text, with
 * its stack, which a log collector cannot read), its stack at debug level,
 * then exit 1. Installed by each process kind's entry (src/cli.ts,
 * src/server/worker.ts).
 */
export function exitOnUncaught(): void {
  const die = (kind: string) => (err: unknown): void => {
    logFatal(err, `${kind}: ${firstLine(err)} (a defect: SECKILL_LOG_LEVEL=debug logs its stack)`);
    process.exit(1);
  };
  process.on('uncaughtException', die('uncaught exception'));
  process.on('unhandledRejection', die('unhandled rejection'));
}
