import autocannon from 'autocannon';
import { createSigner } from 'fast-jwt';

export interface LoadOptions {
  readonly url: string;
  readonly event: string;
  readonly tokens: readonly string[];
  readonly connections: number;
  readonly durationS?: number;
  readonly amount?: number;
  /** Requests per second across all connections (open-loop pacing); unset: as fast as answers come. */
  readonly overallRate?: number;
  /** Every n-th request is a repeat click of a "hot" user (1% of them); 0: every request a new user. */
  readonly repeatEvery: number;
  readonly label: string;
  /** Called about once a second with the responses so far. */
  readonly onTick?: (responses: number) => void;
}

export interface LoadResult {
  readonly label: string;
  readonly requests: number;
  readonly rps: number;
  readonly latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  readonly bytesPerResponse: number;
  readonly outcomes: Record<number, number>;
  /** HTTP bytes (status line, headers, body) per response, by outcome code. */
  readonly bytesByOutcome: Record<number, number>;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  /** Users told "won" (code 0), by token index; undefined when the generator cannot tell (wrk). */
  readonly winners: ReadonlySet<number> | undefined;
  readonly distinctUsers: number;
  /** When the first request went out and the last answer came in (epoch ms): autocannon stops on whole seconds. */
  readonly firstAt: number;
  readonly lastAt: number;
}

export const BENCH_SECRET = 'bench-secret-not-for-production';

export function mintTokens(n: number, prefix = 'user'): string[] {
  const sign = createSigner({ key: BENCH_SECRET });
  return Array.from({ length: n }, (_, i) => sign({ sub: `${prefix}${i}` }) as string);
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
  const bytes: Record<number, number> = {};
  let i = 0;
  let next = 0;
  let lastCode = -1;
  let firstAt = Date.now();
  let lastAt = firstAt;
  // autocannon's onResponse does not say which request it answers; each
  // connection has one request in flight, so remember it per connection context.
  const options: autocannon.Options = {
    url: o.url,
    connections: o.connections,
    pipelining: 1,
    ...(o.overallRate === undefined ? {} : { overallRate: o.overallRate }),
    ...(o.amount === undefined ? { duration: o.durationS ?? 10 } : { amount: o.amount }),
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: `/events/${o.event}/buy`,
        setupRequest: (req: autocannon.Request, context: Record<string, unknown>) => {
          const n = i++;
          const repeat = o.repeatEvery > 0 && n % o.repeatEvery === o.repeatEvery - 1;
          const user = repeat ? (n / o.repeatEvery) % hot | 0 : next++ % o.tokens.length;
          used.add(user);
          context.user = user;
          return { ...req, headers: { ...req.headers, authorization: `Bearer ${o.tokens[user]}` } };
        },
        onResponse: (_status: number, body: string, context: Record<string, unknown>) => {
          const code = body.charCodeAt(6) >= 48 && body.charCodeAt(6) <= 57 ? Number(body.slice(5, 7)) : body.charCodeAt(5) - 48;
          outcomes[code] = (outcomes[code] ?? 0) + 1;
          lastCode = code;
          if (code === 0) winners.add(context.user as number);
        },
      } as autocannon.Request,
    ],
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err: unknown, r: autocannon.Result) => (err ? reject(err as Error) : resolve(r)));
    // Emitted right after onResponse above, for the same response: lastCode is its code.
    instance.on('response', (_client: unknown, _status: number, resBytes: number) => {
      bytes[lastCode] = (bytes[lastCode] ?? 0) + resBytes;
      lastAt = Date.now();
    });
    instance.on('start', () => (firstAt = Date.now()));
    let seen = 0;
    // The types say 'tick' has no argument; autocannon passes { counter, bytes } for the last second.
    (instance as NodeJS.EventEmitter).on('tick', (c: { counter: number }) => o.onTick?.((seen += c.counter)));
  });
  const bytesByOutcome: Record<number, number> = {};
  for (const [code, total] of Object.entries(bytes)) bytesByOutcome[Number(code)] = Math.round(total / (outcomes[Number(code)] ?? 1));
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
    bytesByOutcome,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    winners,
    distinctUsers: used.size,
    firstAt,
    lastAt,
  };
}
