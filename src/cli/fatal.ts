import { firstLine, logFatal, stderrIsTerminal } from '../log';

/**
 * How a command that cannot go on says so, then exits 1. On a terminal:
 * one line, `seckill: <what is wrong>`, for a person to read. Otherwise
 * (a process manager, a container's log): one JSON log line at level fatal,
 * with no stack (logFatal: the stack is a debug line before it).
 */
export function fatal(err: unknown): never {
  const message = firstLine(err);
  if (stderrIsTerminal()) process.stderr.write(`seckill: ${message}\n`);
  else logFatal(err, message);
  process.exit(1);
}
