import { ConfigError } from '../config';
import { parseTime } from '../events/definition';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 };

/**
 * A duration with its unit: "500ms", "90s", "15m", "1h", "2d", "1h30m" →
 * milliseconds; `flag` names the option in errors. A bare number is refused:
 * `--ttl 3600` was once read as 3.6 s where an hour was meant, and
 * `--pay-within 900` as seconds: no option of the command line guesses the
 * unit any more. "0" needs none.
 */
export function parseDuration(text: string, flag: string, sign = ''): number {
  const t = text.trim();
  if (t === '0') return 0;
  if (/^\d+$/.test(t)) {
    const e = (x: string): string => sign + x;
    throw new ConfigError(`${flag} ${e(t)}: a duration needs its unit: ${e(t + 's')} for seconds, or ${e('10m')}, ${e('1h')}, ${e('1h30m')}, ${e('2d')}, ${e('500ms')}`);
  }
  if (!/^(\d+(ms|s|m|h|d))+$/.test(t)) throw new ConfigError(`${flag}: expected a duration like ${sign}90s, ${sign}15m, ${sign}1h, ${sign}1h30m or ${sign}2d, got "${sign}${text}"`);
  let ms = 0;
  for (const [, n, unit] of t.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(n) * (UNIT_MS[unit ?? 'ms'] ?? 1);
  return ms;
}

/** A time for `event put`, as given: `now`, `+10m` (from now), or an instant. */
export type When =
  | { readonly kind: 'now'; readonly ms: number }
  | { readonly kind: 'relative'; readonly ms: number }
  | { readonly kind: 'instant'; readonly ms: number };

/**
 * A time for `event put`: `now`, `+10m` / `+1h30m` (from now, for --start
 * and --end alike), ISO-8601 with an offset, or epoch milliseconds. The
 * rules of the admin API (events/definition.ts parseTime): no date without a
 * time, no time without an offset, no epoch in seconds.
 */
export function parseWhen(text: string, flag: string, now = Date.now()): When {
  const t = text.trim();
  if (t === 'now') return { kind: 'now', ms: now };
  if (t.startsWith('+')) return { kind: 'relative', ms: now + parseDuration(t.slice(1), flag, '+') };
  const ms = parseTime(t, flag);
  if (typeof ms === 'string') {
    throw new ConfigError(/^\d+$|\d{4}-/.test(t) ? ms : `${flag}: expected now, +10m, an ISO-8601 time with its offset or epoch milliseconds, got "${text}"`);
  }
  return { kind: 'instant', ms };
}
