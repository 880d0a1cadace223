import { log } from '../log';
import type { LocalService, ServiceHealth, ServiceProcess } from './local-service';

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 10_000;
/** A run this long resets the backoff: it was a crash, not a crash loop. */
const STABLE_MS = 30_000;

/** Set by holdRestarts: the process is going down, its services with it. */
let restartsHeld = false;

/**
 * A forced stop is under way (src/cli.ts: a second signal, or the stop
 * deadline): a service that exits from now on was stopped on purpose, by
 * stopLocalServices, and is neither restarted nor logged as a crash.
 */
export function holdRestarts(): void {
  restartsHeld = true;
}

/**
 * Keeps a local service running: when its process exits without being asked
 * to, logs the exit and starts it again (`launch`) after a backoff that
 * doubles from 250 ms to 10 s while it keeps failing. /healthz shows
 * `health()`. `stop()` ends it for good, and waits for the process to exit.
 */
export function supervise(name: string, first: ServiceProcess, launch: () => Promise<ServiceProcess>): LocalService {
  let current = first;
  let up = true;
  let restarts = 0;
  let failures = 0;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let launching: Promise<unknown> | undefined;

  const restartLater = (): void => {
    const delay = Math.min(FIRST_DELAY_MS * 2 ** failures, MAX_DELAY_MS);
    failures++;
    timer = setTimeout(() => {
      timer = undefined;
      if (restartsHeld) return;
      launching = launch().then(
        (next) => {
          if (stopping || restartsHeld) {
            next.kill('SIGTERM');
            return next.exited;
          }
          restarts++;
          up = true;
          log.info({ service: name, servicePid: next.pid, restarts }, `local ${name} restarted`);
          watch(next);
        },
        (err: unknown) => {
          if (stopping || restartsHeld) return;
          log.error({ service: name, err: (err as Error).message.split('\n')[0], retryMs: Math.min(FIRST_DELAY_MS * 2 ** failures, MAX_DELAY_MS) }, `local ${name} failed to restart`);
          restartLater();
        },
      );
    }, delay);
  };

  const watch = (p: ServiceProcess): void => {
    current = p;
    const since = Date.now();
    void p.exited.then((how) => {
      if (stopping || restartsHeld || current !== p) return;
      up = false;
      if (Date.now() - since >= STABLE_MS) failures = 0;
      log.error({ service: name, servicePid: p.pid, exit: how, retryMs: Math.min(FIRST_DELAY_MS * 2 ** failures, MAX_DELAY_MS) }, `local ${name} exited: restarting`);
      restartLater();
    });
  };
  watch(first);

  return {
    name,
    get pid() {
      return current.pid;
    },
    health: (): ServiceHealth => ({ up, restarts }),
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await launching?.catch(() => undefined);
      current.kill('SIGTERM');
      // A stopped process (SIGSTOP, a debugger) acts on the SIGTERM only once it runs again.
      current.kill('SIGCONT');
      await current.exited;
    },
  };
}
