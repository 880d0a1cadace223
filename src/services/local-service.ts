import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A database server this process started (or found still running from an
 * earlier run on the same data folder) and stops on exit. Used for Redis and
 * MariaDB when no REDIS_URL / MYSQL_URL is set, by the server and the tests.
 */
export interface LocalService {
  readonly name: string;
  /** The current process (it changes when the service is restarted). */
  readonly pid: number;
  /** Running now, and how many times it was restarted after dying. */
  health(): ServiceHealth;
  stop(): Promise<void>;
}

export interface ServiceHealth {
  readonly up: boolean;
  readonly restarts: number;
}

const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The first of `names` on PATH (or the usual sbin folders), or a clear error. */
export function findBinary(names: readonly string[], aptPackage: string, urlVariable: string): string {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH_PATH];
  for (const name of names) {
    for (const dir of dirs) {
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return file;
      } catch {
        // not here; keep looking
      }
    }
  }
  throw new Error(
    `${names[0]} not found. Install it (apt-get install -y ${aptPackage}) or set ${urlVariable} to use a running server.`,
  );
}

/** One run of a service process: ours (a child) or adopted (polled). */
export interface ServiceProcess {
  readonly pid: number;
  /** Resolves when the process has exited, with how. */
  readonly exited: Promise<string>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Starts `bin` in its own process group (so a terminal's Ctrl-C reaches only
 * us, and we stop it after draining) and resolves once a line of its output
 * matches `ready`.
 */
export function spawnUntilReady(
  name: string,
  bin: string,
  args: readonly string[],
  ready: RegExp,
  timeoutMs = 60_000,
): Promise<ServiceProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let settled = false;
    const exited = new Promise<string>((r) => child.once('exit', (code, signal) => r(signal ?? `code ${code}`)));
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start: ${why}\n${output.split('\n').slice(-15).join('\n')}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8192);
      if (!settled && ready.test(output)) {
        settled = true;
        clearTimeout(timer);
        // Keep draining its output so a full pipe never blocks it.
        child.stdout.resume();
        child.stderr.resume();
        resolve({ pid: child.pid ?? 0, exited, kill: (signal) => child.kill(signal) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    // 'on', not 'once': a second 'error' (a failed kill later on) with no listener would crash the server.
    child.on('error', (err) => fail(err.message));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code})`));
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A service left running by an earlier process on the same data folder (the
 * server was killed, its children were not): take it over. It is not our
 * child, so its exit can only be polled.
 */
export function adopt(pid: number): ServiceProcess {
  const exited = new Promise<string>((resolve) => {
    const poll = setInterval(() => {
      if (isAlive(pid)) return;
      clearInterval(poll);
      resolve('gone');
    }, 250);
    // Not unref'd: at shutdown, waiting for an adopted service to exit must keep
    // the process alive (nothing else may be left on the event loop by then).
  });
  return {
    pid,
    exited,
    kill(signal) {
      if (isAlive(pid)) process.kill(pid, signal);
    },
  };
}

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
