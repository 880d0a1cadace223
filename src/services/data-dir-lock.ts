import fs from 'node:fs';
import path from 'node:path';
import { log } from '../log';
import { isAlive } from './local-service';

/**
 * One server per data folder. The local redis-server and mariadbd of a data
 * folder belong to the server that started (or adopted) them, and it stops
 * them when it exits; a second server on the same folder used to adopt them
 * too, and stopped them under the first one's feet. So the owner writes
 * `<dataDir>/seckill.pid` (its pid and start time), and another server is
 * refused with "data dir in use by pid N" for as long as that process lives.
 * A lock left by a dead owner (killed, or a container restarted on the same
 * volume) is taken over, and with it the services it left running.
 *
 * The start time (Linux: /proc/<pid>/stat) tells a live owner from an
 * unrelated process that got its pid since; elsewhere the pid alone is checked.
 */
export interface DataDirLock {
  release(): void;
}

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

/** Folders this process owns (a second server in the same process is refused too). */
const heldHere = new Set<string>();

export function dataDirLockFile(dataDir: string): string {
  return path.join(dataDir, 'seckill.pid');
}

/** Clock ticks after boot at which `pid` started (Linux), or undefined. */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses; starttime is field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

interface Owner {
  readonly pid: number;
  readonly started: string | undefined;
}

function readOwner(file: string): Owner | undefined {
  try {
    const [pid, started] = fs.readFileSync(file, 'utf8').trim().split(/\s+/);
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 ? { pid: n, started } : undefined;
  } catch {
    return undefined;
  }
}

function alive(owner: Owner): boolean {
  if (!isAlive(owner.pid)) return false;
  const now = startTime(owner.pid);
  return owner.started === undefined || now === undefined || now === owner.started;
}

/** Whether this process holds the folder's lock (took it, and has not released it). */
export function holdsDataDir(dataDir: string): boolean {
  try {
    return heldHere.has(fs.realpathSync(dataDir));
  } catch {
    return false;
  }
}

export function lockDataDir(dataDir: string): DataDirLock {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const dir = fs.realpathSync(dataDir);
  const file = dataDirLockFile(dir);
  if (heldHere.has(dir)) throw new DataDirInUseError(`data dir ${dir} in use by pid ${process.pid} (this process)`);
  const me = `${process.pid} ${startTime(process.pid) ?? ''}`.trim();
  const ours = (): boolean => fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim() === me;
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, me + '\n', { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readOwner(file);
    if (owner !== undefined && owner.pid !== process.pid && alive(owner)) {
      throw new DataDirInUseError(`data dir ${dir} in use by pid ${owner.pid}: one server per SECKILL_DATA_DIR (stop it, or give this one another folder)`);
    }
    if (attempt >= 3) throw new DataDirInUseError(`data dir ${dir}: cannot take ${file} over (another server is starting on it?)`);
    // The owner is dead: replace its file atomically, then check no other newcomer replaced ours meanwhile.
    const temp = `${file}.${process.pid}`;
    fs.writeFileSync(temp, me + '\n', { mode: 0o600 });
    fs.renameSync(temp, file);
    if (ours()) {
      log.warn({ dataDir: dir, deadPid: owner?.pid }, 'data dir lock left by a server that is gone: taking its services over');
      break;
    }
  }
  heldHere.add(dir);
  return {
    release() {
      if (!heldHere.delete(dir)) return;
      if (ours()) fs.rmSync(file, { force: true });
    },
  };
}
