/**
 * One pino JSON line → one line for a person on a terminal:
 * `10:00:01.234 INFO  listening host=127.0.0.1 port=8080`. Errors show their
 * message; the stack only when `withStack` (the level is debug or trace).
 * A line that is not JSON passes through unchanged.
 */
const LEVEL_WIDTH = 5;
const SKIP = new Set(['level', 'time', 'msg', 'hostname', 'pid']);

function show(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

export function prettyLine(line: string, withStack = false): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof record.time === 'string' ? record.time.slice(11, 23) : '';
  const level = String(record.level ?? '').toUpperCase().padEnd(LEVEL_WIDTH);
  const parts = [time, level, typeof record.msg === 'string' ? record.msg : ''];
  let stack = '';
  for (const [k, v] of Object.entries(record)) {
    if (SKIP.has(k)) continue;
    if (typeof v === 'object' && v !== null && 'message' in v) {
      const err = v as { message?: unknown; stack?: unknown };
      parts.push(`${k}=${show(err.message)}`);
      if (withStack && typeof err.stack === 'string') stack = '\n' + err.stack;
    } else {
      parts.push(`${k}=${show(v)}`);
    }
  }
  return parts.filter((p) => p !== '').join(' ') + stack + '\n';
}
