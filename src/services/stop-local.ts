import fs from 'node:fs';
import path from 'node:path';
import { isAlive, readPid } from './local-service';
import { mariadbPidFile } from './mariadb-server';
import { redisPidFile } from './redis-server';

export type LocalServiceName = 'redis-server' | 'mariadbd';

const PID_FILE: Readonly<Record<LocalServiceName, (dataDir: string) => string>> = { 'redis-server': redisPidFile, mariadbd: mariadbPidFile };
/** The service's folder in the data folder: its command line names it (redis-server's title its socket there, mariadbd's flags its paths). */
const FOLDER: Readonly<Record<LocalServiceName, string>> = { 'redis-server': 'redis', mariadbd: 'mariadb' };

export interface ServiceStop {
  readonly service: LocalServiceName;
  readonly pid: number;
  /** SIGTERM was enough, or it had to be killed after the grace time. */
  readonly how: 'stopped' | 'killed';
}

/**
 * Stops the redis-server and mariadbd that a data folder's pid files name,
 * without the handles of the process that started them: for a stop that
 * cannot wait for the graceful one (src/cli.ts: a second signal, or the stop
 * deadline; a process that supervises them calls holdRestarts() first), and
 * for tests cleaning up after a server they killed. Each gets SIGTERM and
 * SIGCONT (one that was stopped, SIGSTOP or a debugger, could not act on the
 * SIGTERM otherwise), and SIGKILL if it is still there after `graceMs`.
 */
export async function stopLocalServices(
  dataDir: string,
  services: readonly LocalServiceName[] = ['redis-server', 'mariadbd'],
  graceMs = 10_000,
): Promise<ServiceStop[]> {
  const stops = await Promise.all(
    services.map(async (service): Promise<ServiceStop | undefined> => {
      const pid = readPid(PID_FILE[service](dataDir));
      if (pid === undefined || !serves(pid, path.join(dataDir, FOLDER[service]))) return undefined;
      signal(pid, 'SIGTERM');
      signal(pid, 'SIGCONT');
      if (await gone(pid, graceMs)) return { service, pid, how: 'stopped' };
      signal(pid, 'SIGKILL');
      await gone(pid, 2_000);
      return { service, pid, how: 'killed' };
    }),
  );
  return stops.filter((s) => s !== undefined);
}

/**
 * Whether `pid` is a service of this folder (Linux: its command line names
 * it). A pid file can outlive its process, and pids come round again (every
 * 32,768 by default): the pid may be another data folder's mariadbd by now,
 * which must not be stopped. Without /proc: trusted.
 */
function serves(pid: number, folder: string): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(folder + path.sep) || cmdline.includes(folder + '\0');
  } catch {
    return !fs.existsSync('/proc/self');
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

/** Not our child (or not only): no exit event to await, so poll. */
async function gone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
