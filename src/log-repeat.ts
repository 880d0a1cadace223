import type { Logger } from 'pino';
import { log } from './log';

type Level = 'error' | 'warn' | 'info';

/** How long repeats are counted before a line says how many there were. */
export const REPEAT_WINDOW_MS = 10_000;
/** Distinct failures (by message) told apart per site; more are counted under the last of them. */
const MAX_KINDS = 8;

interface Kind {
  /** Repeats since the last line about it. */
  count: number;
  /** The latest repeat's fields: the summary line carries them. */
  fields: Record<string, unknown>;
  readonly since: number;
}

const pending = new Set<RepeatedLog>();

/**
 * One log site whose failure can come back hundreds of times a second: a buy
 * batch, a sweep or a refresh while Redis or MySQL is away. The first
 * failure of a kind (its error message) is logged at once; its repeats are
 * counted, and while they go on, one line per window says how many there
 * were (`repeats`, and `forMs` since the first) with the latest one's
 * fields. A window without a repeat ends it: the next failure is logged at
 * once again. So an outage of any length costs a line per kind per window,
 * never a line per failure. The fields are logged through the `err`
 * serializer (src/log.ts), which drops commands and their arguments.
 */
export class RepeatedLog {
  private readonly kinds = new Map<string, Kind>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly level: Level,
    private readonly msg: string,
    private readonly windowMs = REPEAT_WINDOW_MS,
    private readonly logger: Pick<Logger, Level> = log,
  ) {}

  report(fields: Record<string, unknown>): void {
    const key = kindOf(fields.err);
    const kind = this.kinds.get(key);
    if (kind !== undefined) {
      kind.count++;
      kind.fields = fields;
      return;
    }
    const last = this.kinds.size >= MAX_KINDS ? [...this.kinds.values()].pop() : undefined;
    if (last !== undefined) {
      last.count++;
      return;
    }
    this.kinds.set(key, { count: 0, fields, since: Date.now() });
    this.logger[this.level](fields, this.msg);
    this.arm();
  }

  /** Says how many repeats are not yet told, and forgets them (at exit; tests). */
  flush(): void {
    this.tell();
    this.kinds.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    pending.delete(this);
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    pending.add(this);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const [key, kind] of this.kinds) if (kind.count === 0) this.kinds.delete(key);
      this.tell();
      if (this.kinds.size > 0) this.arm();
      else pending.delete(this);
    }, this.windowMs);
    this.timer.unref();
  }

  private tell(): void {
    const now = Date.now();
    for (const kind of this.kinds.values()) {
      if (kind.count === 0) continue;
      this.logger[this.level]({ ...kind.fields, repeats: kind.count, forMs: now - kind.since }, `${this.msg} (repeated)`);
      kind.count = 0;
    }
  }
}

const sites = new Map<string, RepeatedLog>();

/**
 * `log[level](fields, msg)` for a failure that may repeat: one RepeatedLog
 * per level and message, so a call site changes in one line.
 */
export function logRepeated(level: Level, fields: Record<string, unknown>, msg: string): void {
  const key = `${level} ${msg}`;
  let site = sites.get(key);
  if (site === undefined) sites.set(key, (site = new RepeatedLog(level, msg)));
  site.report(fields);
}

/** At exit: every count not yet told is logged (the writes are synchronous). */
export function flushRepeatedLogs(): void {
  for (const r of [...pending]) r.flush();
}

function kindOf(err: unknown): string {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err ?? '');
  return message.slice(0, 200);
}
