import { token } from './app';

export interface Told {
  readonly user: string;
  readonly code: number;
  readonly order: number;
  /** Date.now() when the request was sent. */
  readonly sent: number;
  /** Date.now() when the answer arrived. */
  readonly at: number;
}

export interface CrowdOptions {
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Called after every answer, with the "won" answers so far; may change `bases` (a server stopped or added). */
  readonly onAnswer?: (told: Told, wins: number) => void;
  /** Stop once this returns true (checked after each answer). */
  readonly done?: (all: readonly Told[]) => boolean;
  /** Give up after this many ms. */
  readonly timeoutMs?: number;
}

/** Codes a real client retries: busy, timeout, unavailable. */
const RETRY = new Set([5, 6, 10]);

/**
 * A crowd of distinct users clicking "buy" across several servers, each
 * user until it gets a final answer (retrying on 5, 6, 10 and on a
 * connection that failed, as a real client does). `bases` is read on every
 * request, so the caller may swap servers mid-sale.
 */
export async function crowd(bases: string[], event: string, users: readonly string[], opts: CrowdOptions): Promise<Told[]> {
  const told: Told[] = [];
  const queue = [...users];
  const tokens = new Map(users.map((u) => [u, token(u)]));
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let next = 0;
  let stop = false;
  let wins = 0;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const user = queue.shift();
      if (user === undefined) return;
      if (Date.now() > deadline) throw new Error(`crowd: timed out with ${queue.length + 1} users left`);
      const live = bases.filter(Boolean);
      const base = live[next++ % Math.max(1, live.length)];
      let code: number;
      let order = 0;
      const sent = Date.now();
      try {
        if (base === undefined) throw new Error('no server');
        const res = await fetch(`${base}/events/${event}/buy`, { method: 'POST', headers: { authorization: `Bearer ${tokens.get(user)}` } });
        const body = (await res.json()) as { c: number; o?: number };
        code = body.c;
        order = body.o ?? 0;
      } catch {
        queue.push(user);
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const t: Told = { user, code, order, sent, at: Date.now() };
      told.push(t);
      if (code === 0) wins++;
      if (process.env.CROWD_DEBUG && told.length % 500 === 0) {
        const by: Record<number, number> = {};
        for (const x of told) by[x.code] = (by[x.code] ?? 0) + 1;
        process.stderr.write(`crowd: ${told.length} answers, queue ${queue.length}, ${JSON.stringify(by)}\n`);
      }
      opts.onAnswer?.(t, wins);
      if (RETRY.has(code)) {
        queue.push(user);
        if (code === 10) await new Promise((r) => setTimeout(r, 5));
      }
      if (opts.done?.(told)) stop = true;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return told;
}
