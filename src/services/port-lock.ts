import net from 'node:net';

/**
 * The one seckill process serving a TCP port on this machine. uWS listens
 * with SO_REUSEPORT, so without a check a second server on the same port
 * starts without an error and takes part of the traffic (with its own
 * secret: its buyers get 401). A single listener is made exclusive by uWS
 * itself (LIBUS_LISTEN_EXCLUSIVE_PORT, src/http/server.ts); several worker
 * threads sharing the port need SO_REUSEPORT among themselves, so the
 * process also holds this lock, taken once per process per port, before
 * any of them listens.
 *
 * The lock is a Linux abstract unix socket, `\0seckill-port-<port>`: binding
 * it is atomic, it belongs to the network namespace (the same scope as the
 * TCP port), and the kernel frees it when the process dies, so there is no
 * stale lock to clean up. The holder answers a connection with its pid, so
 * the refusal names it. Elsewhere than Linux (no abstract sockets) the lock
 * is skipped and the exclusive listen alone guards a single-threaded server.
 */
export interface PortLock {
  readonly port: number;
  release(): void;
}

export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

const held = new Map<number, Promise<PortLock>>();

function lockName(port: number): string {
  return `\0seckill-port-${port}`;
}

/** Takes the lock for `port` (once per process: later calls get the same lock), or fails with "address in use" and the holder's pid. */
export function takePortLock(port: number): Promise<PortLock> {
  let lock = held.get(port);
  if (lock === undefined) {
    lock = bind(port);
    held.set(port, lock);
    lock.catch(() => held.delete(port));
  }
  return lock;
}

function bind(port: number): Promise<PortLock> {
  if (process.platform !== 'linux') return Promise.resolve({ port, release: () => undefined });
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.end(String(process.pid)));
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') return reject(err);
      void holderOf(port).then((pid) =>
        reject(new PortInUseError(`address in use: port ${port} is already served by seckill${pid === undefined ? '' : ` pid ${pid}`} (set PORT)`)),
      );
    });
    server.listen({ path: lockName(port) }, () => {
      resolve({
        port,
        release: () => {
          held.delete(port);
          server.close();
        },
      });
    });
  });
}

/** The pid of the process holding `port`'s lock, if one answers within half a second. */
export function holderOf(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const socket = net.connect({ path: lockName(port) });
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const pid = Number(text.trim());
      resolve(Number.isInteger(pid) && pid > 0 ? pid : undefined);
    };
    const timer = setTimeout(done, 500);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.once('end', done);
    socket.once('error', done);
  });
}
