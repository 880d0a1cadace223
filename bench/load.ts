import autocannon from 'autocannon';
import { mintToken } from '../src/auth/jwt';

export interface LoadOptions {
  readonly url: string;
  readonly event: string;
  readonly tokens: readonly string[];
  readonly connections: number;
  readonly durationS?: number;
  readonly amount?: number;
  /** Every n-th request is a repeat click of a "hot" user (1% of them). */
  readonly repeatEvery: number;
  readonly label: string;
}

export interface LoadResult {
  readonly label: string;
  readonly requests: number;
  readonly rps: number;
  readonly latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  readonly bytesPerResponse: number;
  readonly outcomes: Record<number, number>;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  /** Users told "won" (code 0), by token index. */
  readonly winners: ReadonlySet<number>;
  readonly distinctUsers: number;
}

export const BENCH_SECRET = 'bench-secret-not-for-production';

export function mintTokens(n: number): string[] {
  return Array.from({ length: n }, (_, i) => mintToken(BENCH_SECRET, `user${i}`));
}

/**
 * Drives POST /events/{event}/buy with autocannon (pipelining 1: uWS answers
 * asynchronously, in order, one at a time per connection), a JWT per user,
 * and counts outcomes from the first bytes of each body.
 */
export async function load(o: LoadOptions): Promise<LoadResult> {
  const outcomes: Record<number, number> = {};
  const winners = new Set<number>();
  const used = new Set<number>();
  const hot = Math.max(1, Math.floor(o.tokens.length / 100));
  let i = 0;
  let next = 0;
  // autocannon's onResponse does not say which request it answers; each
  // connection has one request in flight, so remember it per connection context.
  const result = await autocannon({
    url: o.url,
    connections: o.connections,
    pipelining: 1,
    ...(o.amount === undefined ? { duration: o.durationS ?? 10 } : { amount: o.amount }),
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: `/events/${o.event}/buy`,
        setupRequest: (req: autocannon.Request, context: Record<string, unknown>) => {
          const n = i++;
          const user = n % o.repeatEvery === o.repeatEvery - 1 ? (n / o.repeatEvery) % hot | 0 : next++ % o.tokens.length;
          used.add(user);
          context.user = user;
          return { ...req, headers: { ...req.headers, authorization: `Bearer ${o.tokens[user]}` } };
        },
        onResponse: (_status: number, body: string, context: Record<string, unknown>) => {
          const code = body.charCodeAt(6) >= 48 && body.charCodeAt(6) <= 57 ? Number(body.slice(5, 7)) : body.charCodeAt(5) - 48;
          outcomes[code] = (outcomes[code] ?? 0) + 1;
          if (code === 0) winners.add(context.user as number);
        },
      } as autocannon.Request,
    ],
  });
  const responses = result.requests.total;
  return {
    label: o.label,
    requests: responses,
    rps: Math.round(result.requests.average),
    latency: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.average,
    },
    bytesPerResponse: responses === 0 ? 0 : Math.round(result.throughput.total / responses),
    outcomes,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    winners,
    distinctUsers: used.size,
  };
}
