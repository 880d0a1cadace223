import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/scripts';

export interface RedisHealth {
  /** Every master answers (one Redis: it answers PING). */
  readonly redis: boolean;
  /** Under a Cluster: its state as a reachable master reports it, and each master (from the slot table) answering PING. */
  readonly redisCluster?: { readonly state: string; readonly masters: Record<string, boolean> };
}

/**
 * For /healthz (through services/dependencies.ts, in the background). Under
 * a Cluster, a master that is down shows as false here (its events answer
 * 10) while the others keep selling; `state` is what CLUSTER INFO says
 * (`ok`, or `fail` when a master's slots are uncovered). Every master is
 * asked at once, so one that hangs costs one command timeout, not one per
 * question.
 */
export async function redisHealth(redis: RedisClient): Promise<RedisHealth> {
  const ok = (p: Promise<unknown>): Promise<boolean> => p.then(() => true, () => false);
  if (!(redis instanceof Cluster)) return { redis: await ok(redis.ping()) };
  const connected = new Map(redis.nodes('master').map((n) => [`${n.options.host}:${n.options.port}`, n]));
  const keys = [...new Set(redis.slots.map((owners) => owners[0]).filter((k): k is string => k !== undefined))].sort();
  const stateOf = async (k: string): Promise<string | undefined> => {
    const info = await connected.get(k)?.cluster('INFO').catch(() => undefined);
    return typeof info === 'string' ? /cluster_state:(\w+)/.exec(info)?.[1] : undefined;
  };
  const [up, states] = await Promise.all([
    Promise.all(keys.map((k) => {
      const node = connected.get(k);
      return node === undefined ? false : ok(node.ping());
    })),
    Promise.all(keys.map(stateOf)),
  ]);
  const masters = Object.fromEntries(keys.map((k, i) => [k, up[i] === true]));
  const state = states.find((s) => s !== undefined) ?? 'unreachable';
  return { redis: keys.length > 0 && up.every(Boolean), redisCluster: { state, masters } };
}
