import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/scripts';

export interface RedisHealth {
  /** Every master answers (one Redis: it answers PING). */
  readonly redis: boolean;
  /** Under a Cluster: its state as a reachable master reports it, and each master (from the slot table) answering PING. */
  readonly redisCluster?: { readonly state: string; readonly masters: Record<string, boolean> };
}

/**
 * For /healthz. Under a Cluster, a master that is down shows as false here
 * (its events answer 10) while the others keep selling; `state` is what
 * CLUSTER INFO says (`ok`, or `fail` when a master's slots are uncovered).
 */
export async function redisHealth(redis: RedisClient): Promise<RedisHealth> {
  const ok = (p: Promise<unknown>): Promise<boolean> => p.then(() => true, () => false);
  if (!(redis instanceof Cluster)) return { redis: await ok(redis.ping()) };
  const connected = new Map(redis.nodes('master').map((n) => [`${n.options.host}:${n.options.port}`, n]));
  const keys = [...new Set(redis.slots.map((owners) => owners[0]).filter((k): k is string => k !== undefined))].sort();
  const up = await Promise.all(keys.map((k) => {
    const node = connected.get(k);
    return node === undefined ? false : ok(node.ping());
  }));
  const masters = Object.fromEntries(keys.map((k, i) => [k, up[i] === true]));
  let state = 'unreachable';
  for (const k of keys) {
    const info = await connected.get(k)?.cluster('INFO').catch(() => undefined);
    const m = typeof info === 'string' ? /cluster_state:(\w+)/.exec(info) : null;
    if (m?.[1] !== undefined) {
      state = m[1];
      break;
    }
  }
  return { redis: keys.length > 0 && up.every(Boolean), redisCluster: { state, masters } };
}
