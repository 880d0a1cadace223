import fs from 'node:fs';
import path from 'node:path';
import { adopt, findBinary, readPid, spawnUntilReady, type LocalService } from './local-service';

export interface LocalRedis extends LocalService {
  /** Unix socket path: pass as REDIS_URL or to ioredis `path`. */
  readonly socket: string;
}

/** How the local redis-server syncs its append-only file (SECKILL_REDIS_APPENDFSYNC). */
export type AppendFsync = 'always' | 'everysec';

/**
 * Starts redis-server for this data folder: unix socket only (no TCP port),
 * AOF on (fsync per `appendfsync`), no RDB snapshots. If one is already
 * serving this folder (left by a killed server), it is adopted instead.
 */
export async function startLocalRedis(dataDir: string, appendfsync: AppendFsync = 'always'): Promise<LocalRedis> {
  const dir = path.join(dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const socket = path.join(dir, 'redis.sock');
  const pidFile = path.join(dir, 'redis.pid');
  const running = readPid(pidFile);
  if (running !== undefined && fs.existsSync(socket)) return { ...adopt('redis-server', running), socket };

  const bin = findBinary(['redis-server'], 'redis-server', 'REDIS_URL');
  fs.rmSync(socket, { force: true });
  const service = await spawnUntilReady(
    'redis-server',
    bin,
    [
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
    ],
    /ready to accept connections/i,
  );
  return { ...service, socket };
}
