/** What the last check of a dependency found. */
export type DependencyState =
  /** It answered. */
  | 'ok'
  /** It answered with an error, or could not be reached (refused, not connected). */
  | 'failing'
  /** It did not answer within the check's timeout: hung, or a network that drops packets. */
  | 'stalled';

export interface CheckResult {
  /** The dependency answered well enough to count as up (a Cluster: at least one master). */
  readonly up: boolean;
  /** Why not, when not up. */
  readonly error?: string;
  /** Kept for the liveness body (a Cluster's masters). */
  readonly details?: Record<string, unknown>;
}

export interface Check {
  readonly name: string;
  /** Pause between the end of one check and the start of the next. */
  readonly intervalMs: number;
  /** Longer than this without an answer: `stalled`. */
  readonly timeoutMs: number;
  /** One round trip; rejects (or resolves `up: false`) when the dependency failed. */
  run(): Promise<CheckResult>;
}

export interface DependencyReport {
  readonly state: DependencyState;
  /** Milliseconds since it last answered (null: never since start). */
  readonly lastOkMs: number | null;
  readonly error?: string;
}

interface Tracked {
  readonly check: Check;
  state: DependencyState;
  error: string | undefined;
  lastOkAt: number | undefined;
  details: Record<string, unknown> | undefined;
  next: NodeJS.Timeout | undefined;
}

/**
 * Checks each dependency in the background, one check at a time each (a
 * hung one is never piled on: the next starts only once the last has
 * settled), and remembers what it found. Reading is synchronous, so a probe
 * built on it answers at once whatever the dependencies do.
 */
export class DependencyProbe {
  private readonly tracked = new Map<string, Tracked>();
  private closed = false;

  constructor(checks: readonly Check[]) {
    for (const check of checks) {
      this.tracked.set(check.name, { check, state: 'stalled', error: 'not checked yet', lastOkAt: undefined, details: undefined, next: undefined });
    }
  }

  /** Runs the first checks; resolves when each has answered or timed out, so the first reads are real. */
  async start(): Promise<void> {
    const answeredOrTimedOut = (t: Tracked): Promise<void> =>
      Promise.race([this.run(t), new Promise<void>((r) => setTimeout(r, t.check.timeoutMs).unref())]);
    await Promise.all([...this.tracked.values()].map(answeredOrTimedOut));
  }

  /** Stops checking (idempotent); what was found stays readable. */
  close(): void {
    this.closed = true;
    for (const t of this.tracked.values()) clearTimeout(t.next);
  }

  report(name: string, now = Date.now()): DependencyReport | undefined {
    const t = this.tracked.get(name);
    if (t === undefined) return undefined;
    const lastOkMs = t.lastOkAt === undefined ? null : now - t.lastOkAt;
    return t.error === undefined ? { state: t.state, lastOkMs } : { state: t.state, lastOkMs, error: t.error };
  }

  reports(now = Date.now()): Record<string, DependencyReport> {
    return Object.fromEntries([...this.tracked.keys()].map((name) => [name, this.report(name, now)!]));
  }

  details(name: string): Record<string, unknown> | undefined {
    return this.tracked.get(name)?.details;
  }

  /** It answered within the last `withinMs` (a readiness condition: a few missed checks in a row, not one slow one). */
  answeredWithin(name: string, withinMs: number, now = Date.now()): boolean {
    const at = this.tracked.get(name)?.lastOkAt;
    return at !== undefined && now - at <= withinMs;
  }

  /** Something other than a check saw it answer (a connection became ready): `ok` now, without waiting for the next check. */
  answered(name: string): void {
    const t = this.tracked.get(name);
    if (t === undefined) return;
    t.state = 'ok';
    t.error = undefined;
    t.lastOkAt = Date.now();
  }

  private run(t: Tracked): Promise<void> {
    let timedOut = false;
    const { check } = t;
    // Armed before the check sends anything, so it fires before a client's own command timeout of the same length.
    const timer = setTimeout(() => {
      timedOut = true;
      t.state = 'stalled';
      t.error = `no answer within ${check.timeoutMs} ms`;
    }, check.timeoutMs);
    timer.unref();
    const settled = (up: boolean, error: string | undefined, details?: Record<string, unknown>): void => {
      clearTimeout(timer);
      // A late answer does not count: the next check, due soon, tells.
      if (timedOut) return;
      t.state = up ? 'ok' : 'failing';
      t.error = up ? undefined : error;
      if (up) t.lastOkAt = Date.now();
      if (details !== undefined) t.details = details;
    };
    const checked = new Promise<CheckResult>((resolve) => resolve(check.run())).then(
      (r) => settled(r.up, r.error ?? 'not up', r.details),
      (err: unknown) => settled(false, err instanceof Error ? err.message : String(err)),
    );
    void checked.then(() => {
      if (this.closed) return;
      t.next = setTimeout(() => this.run(t), check.intervalMs);
      t.next.unref();
    });
    return checked;
  }
}
