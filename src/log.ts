import pino from 'pino';

/**
 * The process's logger: pino, JSON lines on stderr (stdout stays free for
 * what a command prints, like `seckill token`), one line per lifecycle event
 * or error. Nothing on the buy path logs at info level. Writes are
 * synchronous: there are few of them, and a line written just before
 * `process.exit` must not be lost. The level comes from SECKILL_LOG_LEVEL.
 */
export const log = pino(
  {
    level: 'info',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  pino.destination({ dest: 2, sync: true }),
);

export const LOG_LEVELS: readonly string[] = Object.freeze(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
