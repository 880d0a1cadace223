import fs from 'node:fs';
import path from 'node:path';
import { adopt, findBinary, readPid, spawnUntilReady, type LocalService, type ServiceProcess } from './local-service';
import { supervise } from './supervise';

export interface LocalRedis extends LocalService {
  /** Unix socket path: pass as REDIS_URL or to ioredis `path`. */
  readonly socket: string;
}

/** Where the local redis-server of a data folder writes its pid (read back by stopLocalServices). */
export function redisPidFile(dataDir: string): string {
  return path.join(dataDir, 'redis', 'redis.pid');
}

/** How the local redis-server syncs its append-only file (SECKILL_REDIS_APPENDFSYNC). */
export type AppendFsync = 'always' | 'everysec';

/**
 * Starts redis-server for this data folder: unix socket only (no TCP port),
 * AOF on (fsync per `appendfsync`), no RDB snapshots. If one is already serving
 * this folder (left by a killed server), it is adopted instead. Either way
 * it is supervised: restarted with backoff if it dies.
 */
export async function startLocalRedis(dataDir: string, appendfsync: AppendFsync = 'always'): Promise<LocalRedis> {
  const dir = path.join(dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const socket = path.join(dir, 'redis.sock');
  const pidFile = redisPidFile(dataDir);
  const running = readPid(pidFile);
  const bin = findBinary(['redis-server'], 'redis-server', 'REDIS_URL');
  const args = [
    '--port', '0',
    '--unixsocket', socket,
    '--unixsocketperm', '700',
    '--dir', dir,
    '--pidfile', pidFile,
    '--appendonly', 'yes',
    '--appendfsync', appendfsync,
    '--save', '',
    '--daemonize', 'no',
    '--loglevel', 'notice',
    '--logfile', '',
  ];
  const launch = (): Promise<ServiceProcess> => {
    fs.rmSync(socket, { force: true });
    return spawnUntilReady('redis-server', bin, args, /ready to accept connections/i);
  };
  const first = running !== undefined && fs.existsSync(socket) ? adopt(running) : await launch();
  return Object.assign(supervise('redis-server', first, launch), { socket });
}
