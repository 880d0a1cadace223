import { ConfigError } from '../config';
import { log, stderrIsTerminal } from '../log';

/**
 * How a command that cannot go on says so, then exits 1. On a terminal:
 * one line, `seckill: <what is wrong>`, for a person to read. Otherwise
 * (a process manager, a container's log): one JSON log line at level fatal,
 * with the stack only for errors nobody anticipated (a ConfigError is the
 * user's to fix and needs none).
 */
export function fatal(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  if (stderrIsTerminal()) {
    process.stderr.write(`seckill: ${message.split('\n')[0]}\n`);
  } else if (err instanceof ConfigError) {
    log.fatal(message);
  } else {
    log.fatal({ err }, message.split('\n')[0]);
  }
  process.exit(1);
}
