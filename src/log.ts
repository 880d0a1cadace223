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
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  { write: (line: string) => destination.write(pretty ? prettyLine(line, log.levelVal <= DEBUG) : line) },
);
