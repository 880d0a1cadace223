import { ConfigError } from '../config';
import { parseTime } from '../events/definition';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 };

/** "90s", "15m", "1h", "2d", "1h30m" or plain milliseconds → milliseconds; `flag` names the option in errors. */
export function parseDuration(text: string, flag = '--ttl'): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  if (!/^(\d+(ms|s|m|h|d))+$/.test(t)) throw new ConfigError(`${flag}: expected a duration like 90s, 15m, 1h, 1h30m or 2d, got "${text}"`);
  let ms = 0;
  for (const [, n, unit] of t.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(n) * (UNIT_MS[unit ?? 'ms'] ?? 1);
  return ms;
}

/**
 * A time for `event put`: `now`, `+10m` / `+1h` (from now, for --start and
 * --end alike), ISO-8601, or epoch milliseconds → epoch milliseconds.
 */
export function parseWhen(text: string, flag: string, now = Date.now()): number {
  const t = text.trim();
  if (t === 'now') return now;
  if (t.startsWith('+')) return now + parseDuration(t.slice(1), flag);
  const ms = parseTime(t);
  if (ms === undefined) throw new ConfigError(`${flag}: expected now, +10m, an ISO-8601 time or epoch milliseconds, got "${text}"`);
  return ms;
}
