import { performance } from 'node:perf_hooks';
import { log } from '../log';

/**
 * Within this long of the first stop signal, another one is a copy of it.
 * Ctrl-C on `npm start` reaches node twice: the terminal signals its whole
 * foreground process group, and npm forwards the SIGINT it got too; a
 * SIGTERM to a process group (systemd's default, `kill -- -PGID`) is the
 * same. Measured: the copy comes within a few milliseconds.
 */
export const SAME_STOP_MS = 1_000;

export type StopSignal = 'SIGINT' | 'SIGTERM';

/**
 * One signal, one graceful stop. SIGINT and SIGTERM are handled for the
 * life of the process: the first one calls `graceful`; a copy within
 * SAME_STOP_MS is ignored; one after that is somebody insisting, and calls
 * `forced` (once). The handlers never remove themselves: a copy arriving
 * after a `process.once` handler was used up would take node's default
 * action and kill the process with 130 in the middle of its flush.
 */
export function onStopSignals(graceful: (signal: StopSignal) => void, forced: (signal: StopSignal) => void): void {
  let first: number | undefined;
  let insisted = false;
  const on = (signal: StopSignal): void => {
    const now = performance.now();
    if (first === undefined) {
      first = now;
      graceful(signal);
    } else if (now - first < SAME_STOP_MS) {
      log.debug({ signal, afterMs: Math.round(now - first) }, 'signal again: a copy of the first (npm, the process group), the same stop');
    } else if (!insisted) {
      insisted = true;
      forced(signal);
    }
  };
  process.on('SIGINT', () => on('SIGINT'));
  process.on('SIGTERM', () => on('SIGTERM'));
}
