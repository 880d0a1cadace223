import net from 'node:net';
import { performance } from 'node:perf_hooks';

/** What mysql2 hands its `stream` factory: the connection's own settings. */
interface StreamOptions {
  readonly config: {
    readonly socketPath?: string;
    readonly host?: string;
    readonly port?: number;
    readonly enableKeepAlive?: boolean;
    readonly keepAliveInitialDelay?: number;
  };
}

export class MysqlStalledError extends Error {
  override name = 'MysqlStalledError';
  readonly code = 'ETIMEDOUT';
}

/**
 * A factory for mysql2's `stream` option: the connection's socket, made as
 * mysql2 makes it, and dropped once the server has answered nothing for
 * `timeoutMs` to a request written to it. mysql2 then fails the query in
 * flight (and those queued on that connection) with the error, and the pool
 * forgets the connection.
 *
 * Why not mysql2's own per-query `timeout`: measured on a SIGSTOPped
 * mariadbd, it rejects the caller's promise but the pool keeps the
 * connection checked out until the server answers (the pool releases it on
 * the query's end, which never comes), so after `connectionLimit` timeouts
 * every later query waits for a free connection, unbounded; `pool.end()`
 * waits the same way. It also has to be given to each query, and a query
 * in a file that forgets it hangs.
 *
 * Only the first byte of an answer is waited for: a server that stops in
 * the middle of an answer is not caught here. A query that is slow on the
 * server before its first byte (a lock wait) is dropped like a stalled one,
 * so `timeoutMs` must exceed the slowest legitimate query; the schema
 * migration, which may wait a minute for another server's, runs on a
 * connection of its own without this (src/orders/mysql.ts).
 */
export function stallGuardedSocket(timeoutMs: number): (options: StreamOptions) => net.Socket {
  return ({ config }) => {
    const socket = config.socketPath ? net.connect(config.socketPath) : net.connect(config.port ?? 3306, config.host ?? 'localhost');
    if (!config.socketPath) {
      socket.setNoDelay(true);
      if (config.enableKeepAlive) socket.once('connect', () => socket.setKeepAlive(true, config.keepAliveInitialDelay));
    }
    // Bytes written after the server's last byte are a request waiting for its answer.
    // This listener runs before mysql2's (added first): a request mysql2 writes from its own
    // 'data' handler, on the heels of an answer, counts as waiting.
    let answeredUpTo = 0;
    let waitingSince: number | undefined;
    socket.on('data', () => {
      answeredUpTo = socket.bytesWritten;
      waitingSince = undefined;
    });
    const watch = setInterval(() => {
      if (socket.bytesWritten <= answeredUpTo) return;
      const now = performance.now();
      waitingSince ??= now;
      if (now - waitingSince >= timeoutMs) {
        socket.destroy(new MysqlStalledError(`MySQL answered nothing in ${timeoutMs} ms (SECKILL_MYSQL_TIMEOUT_MS): connection dropped`));
      }
    }, Math.max(10, Math.floor(timeoutMs / 10)));
    watch.unref();
    socket.once('close', () => clearInterval(watch));
    return socket;
  };
}
