import { log } from '../log';

/** One step of a graceful stop: what it is called (for the log) and how to close it. */
interface Step {
  readonly name: string;
  readonly close: () => unknown;
}

/**
 * The one ordered list of what a process must close. Each component is
 * added as it starts; `close()` unwinds them newest-first, each once, and
 * goes on when one fails (the failure is logged and never leaves the rest
 * running). Idempotent: a second call returns the first one's promise.
 */
export class Shutdown {
  private readonly steps: Step[] = [];
  private closing: Promise<void> | undefined;

  add(name: string, close: () => unknown): void {
    if (this.closing !== undefined) throw new Error(`${name} started during shutdown`);
    this.steps.push({ name, close });
  }

  get started(): boolean {
    return this.closing !== undefined;
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      for (const step of [...this.steps].reverse()) {
        try {
          await step.close();
        } catch (err) {
          log.warn({ step: step.name, err: (err as Error).message }, 'shutdown step failed');
        }
      }
    })());
  }
}
