import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { adopt, findBinary, readPid, spawnUntilReady, type LocalService, type ServiceProcess } from './local-service';
import { supervise } from './supervise';

export interface LocalMariadb extends LocalService {
  /** Unix socket path; connect as root with no password. */
  readonly socket: string;
}

const run = promisify(execFile);

/** Where the local MariaDB of a data folder keeps its socket (also used by the standalone tools). */
export function mariadbSocket(dataDir: string): string {
  return path.join(dataDir, 'mariadb', 'mysqld.sock');
}

/** Where the local mariadbd of a data folder writes its pid (read back by stopLocalServices). */
export function mariadbPidFile(dataDir: string): string {
  return path.join(dataDir, 'mariadb', 'mysqld.pid');
}

/**
 * Starts mariadbd for this data folder: unix socket only (no TCP), data under
 * `<dataDir>/mariadb/data`, initialised on first use, InnoDB flushing the log
 * at every commit. If one is already serving this folder (left by a killed
 * server), it is adopted instead. Either way it is supervised: restarted
 * with backoff if it dies.
 */
export async function startLocalMariadb(dataDir: string): Promise<LocalMariadb> {
  const dir = path.join(dataDir, 'mariadb');
  const data = path.join(dir, 'data');
  const socket = mariadbSocket(dataDir);
  const pidFile = mariadbPidFile(dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Its own temporary folder: installs and servers sharing /tmp collide on temporary table names.
  const tmp = path.join(dir, 'tmp');
  fs.mkdirSync(tmp, { recursive: true, mode: 0o700 });
  const running = readPid(pidFile);
  const bin = findBinary(['mariadbd', 'mysqld'], 'mariadb-server', 'MYSQL_URL');
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    `--socket=${socket}`,
    `--pid-file=${pidFile}`,
    `--tmpdir=${tmp}`,
    '--skip-networking',
    '--skip-name-resolve',
    '--innodb-flush-log-at-trx-commit=1',
    '--max-connections=200',
    ...asRoot,
  ];
  const launch = (): Promise<ServiceProcess> => {
    fs.rmSync(socket, { force: true });
    return spawnUntilReady('mariadbd', bin, args, /ready for connections/);
  };
  let first: ServiceProcess;
  if (running !== undefined && fs.existsSync(socket)) {
    first = adopt(running);
  } else {
    if (!fs.existsSync(path.join(data, 'mysql'))) {
      const install = findBinary(['mariadb-install-db', 'mysql_install_db'], 'mariadb-server', 'MYSQL_URL');
      fs.rmSync(data, { recursive: true, force: true });
      await run(install, ['--no-defaults', `--datadir=${data}`, `--tmpdir=${tmp}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot]);
    }
    first = await launch();
  }
  return Object.assign(supervise('mariadbd', first, launch), { socket });
}
