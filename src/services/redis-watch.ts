import type { Cluster, Redis } from 'ioredis';
import { log, outageNoise } from '../log';

interface Target {
  readonly down: Set<string>;
  since: number;
  suppressedAtStart: number;
}

const targets = new Map<string, Target>();

/** Where a REDIS_URL points, without its password. */
export function redisAddress(target: string): string {
  if (target.startsWith('/')) return target;
  try {
    const u = new URL(target);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return target;
  }
}

/**
 * Reports a Redis outage as two lines: `redis lost` (with the address) when
 * the first connection to it drops, `redis back` (with how long, and how many
 * warnings were held back meanwhile) when every one is ready again. While it
 * is away, src/log.ts counts the repeated connection errors instead of
 * writing them.
 */
export function watchRedis(redis: Redis, name: string, target: string): void {
  const address = redisAddress(target);
  let t = targets.get(address);
  if (t === undefined) {
    t = { down: new Set(), since: 0, suppressedAtStart: 0 };
    targets.set(address, t);
  }
  const state = t;
  const markDown = (): void => {
    if (state.down.has(name)) return;
    if (state.down.size === 0) {
      state.since = Date.now();
      state.suppressedAtStart = outageNoise.suppressed;
      outageNoise.active++;
      log.warn({ redis: address }, 'redis lost: buys answer 10 (unavailable) until it is back');
    }
    state.down.add(name);
  };
  let ready = redis.status === 'ready';
  redis.on('ready', () => {
    ready = true;
    if (!state.down.delete(name)) return;
    if (state.down.size === 0) {
      outageNoise.active--;
      const held = outageNoise.suppressed - state.suppressedAtStart;
      log.info({ redis: address, downMs: Date.now() - state.since, heldBackWarnings: held }, 'redis back');
    }
  });
  // 'reconnecting', not 'close': a quit() at shutdown closes without reconnecting.
  redis.on('reconnecting', () => {
    if (!ready) return;
    ready = false;
    markDown();
  });
  const check = (): boolean => {
    // The socket is gone but ioredis has not said so yet: the same outage, seen a moment early.
    if (!ready || redis.status === 'end' || redis.stream?.writable !== false) return false;
    ready = false;
    markDown();
    return true;
  };
  broken.add(check);
  redis.once('end', () => broken.delete(check));
}

/** One check per watched connection; the log asks them when a connection error comes in with no outage known. */
const broken = new Set<() => boolean>();
outageNoise.detect = () => [...broken].reduce((found, check) => check() || found, false);

/**
 * The same two lines for each master of a Redis Cluster: `redis shard lost`
 * when a node's connection fails, `redis shard back` when a new connection
 * to it is ready (ioredis drops a failed node's connection and makes a new
 * one when the slots are refreshed). Only that shard's events answer 10
 * meanwhile; while any shard is away its repeated errors are counted, not
 * written.
 */
export function watchCluster(cluster: Cluster, name: string): void {
  const down = new Map<string, { since: number; suppressedAtStart: number }>();
  cluster.on('node error', (_err: Error, node: string) => {
    if (down.has(node)) return;
    down.set(node, { since: Date.now(), suppressedAtStart: outageNoise.suppressed });
    outageNoise.active++;
    log.warn({ redis: node, connection: name }, "redis shard lost: that shard's events answer 10 (unavailable) until it is back");
  });
  cluster.on('+node', (redis: Redis, node: string) => {
    redis.once('ready', () => {
      const d = down.get(node);
      if (d === undefined) return;
      down.delete(node);
      outageNoise.active--;
      log.info({ redis: node, connection: name, downMs: Date.now() - d.since, heldBackWarnings: outageNoise.suppressed - d.suppressedAtStart }, 'redis shard back');
    });
  });
  cluster.once('end', () => {
    outageNoise.active -= down.size;
    down.clear();
  });
}
