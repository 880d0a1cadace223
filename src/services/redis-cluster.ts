import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { findBinary, spawnUntilReady, type ServiceProcess } from './local-service';

const run = promisify(execFile);

/** One master of a local cluster: its port, and a way to stop and start it again on the same data. */
export interface ClusterShard {
  readonly port: number;
  /** `127.0.0.1:port`, as REDIS_CLUSTER_NODES lists it and ioredis names the node. */
  readonly address: string;
  readonly running: boolean;
  /** The redis-server's pid (0 while stopped). */
  readonly pid: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface LocalCluster {
  readonly shards: readonly ClusterShard[];
  /** The REDIS_CLUSTER_NODES value for it. */
  readonly nodes: string;
  stop(): Promise<void>;
}

/** A loopback port that is free, and whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(): Promise<number> {
  const bind = (port: number): Promise<net.Server | undefined> =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(undefined));
      s.listen(port, '127.0.0.1', () => resolve(s));
    });
  const close = (s: net.Server | undefined): Promise<void> => new Promise((r) => (s === undefined ? r() : s.close(() => r())));
  for (let attempt = 0; attempt < 100; attempt++) {
    const probe = await bind(0);
    const port = (probe?.address() as net.AddressInfo | undefined)?.port ?? 0;
    await close(probe);
    if (port === 0 || port + 10_000 > 65_535) continue;
    const [a, b] = await Promise.all([bind(port), bind(port + 10_000)]);
    await Promise.all([close(a), close(b)]);
    if (a !== undefined && b !== undefined) return port;
  }
  throw new Error('no free loopback port pair (port, port + 10000) for a cluster node');
}

/**
 * A Redis Cluster of `size` masters on loopback, for tests and the bench:
 * one redis-server per master (`--cluster-enabled yes`, data in its own
 * folder under `dir`), joined with `redis-cli --cluster create … --cluster-yes`,
 * resolved once every node says `cluster_state:ok`.
 * `cluster-require-full-coverage no` is what a sale needs (and what the README
 * asks of a production cluster): a master that is down then takes only its
 * own slots away, instead of the whole cluster answering CLUSTERDOWN.
 */
export async function startLocalCluster(dir: string, size = 3): Promise<LocalCluster> {
  const bin = findBinary(['redis-server'], 'redis-server', 'REDIS_CLUSTER_NODES');
  const cli = findBinary(['redis-cli'], 'redis-tools', 'REDIS_CLUSTER_NODES');
  const shards: ClusterShard[] = [];
  const stopAll = (): Promise<void> => Promise.all(shards.map((s) => s.stop())).then(() => undefined);
  try {
    for (let i = 0; i < size; i++) {
      const port = await freeClusterPort();
      const data = path.join(dir, `node-${port}`);
      fs.mkdirSync(data, { recursive: true });
      const args = [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--cluster-enabled', 'yes',
        '--cluster-config-file', path.join(data, 'nodes.conf'),
        '--cluster-node-timeout', '2000',
        '--cluster-require-full-coverage', 'no',
        '--dir', data,
        '--appendonly', 'yes',
        '--appendfsync', 'everysec',
        '--save', '',
        '--daemonize', 'no',
        '--logfile', '',
      ];
      let proc: ServiceProcess | undefined = await spawnUntilReady(`redis-server :${port}`, bin, args, /ready to accept connections/i);
      const shard: ClusterShard = {
        port,
        address: `127.0.0.1:${port}`,
        get running() {
          return proc !== undefined;
        },
        get pid() {
          return proc?.pid ?? 0;
        },
        async stop() {
          const p = proc;
          proc = undefined;
          if (p === undefined) return;
          p.kill('SIGTERM');
          await p.exited;
        },
        async start() {
          if (proc === undefined) proc = await spawnUntilReady(`redis-server :${port}`, bin, args, /ready to accept connections/i);
        },
      };
      shards.push(shard);
    }
    await run(cli, ['--cluster', 'create', ...shards.map((s) => s.address), '--cluster-replicas', '0', '--cluster-yes']);
    await clusterOk(cli, shards);
    return { shards, nodes: shards.map((s) => s.address).join(','), stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Waits until every running node reports `cluster_state:ok` (the slots are agreed on everywhere). */
async function clusterOk(cli: string, shards: readonly ClusterShard[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(
      shards.filter((s) => s.running).map((s) => run(cli, ['-p', String(s.port), 'cluster', 'info']).then((r) => r.stdout, () => '')),
    );
    if (states.every((s) => s.includes('cluster_state:ok'))) return;
    if (Date.now() > deadline) throw new Error(`cluster not ok after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
