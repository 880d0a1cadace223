import { token } from './app';

export interface Told {
  readonly user: string;
  readonly code: number;
  readonly order: number;
  /** Date.now() when the request was sent. */
  readonly sent: number;
  /** Date.now() when the answer arrived. */
  readonly at: number;
  /** This click was told to retry (5, 6, 10) before, and this answer is its retry's. */
  readonly afterRetry: boolean;
}

/**
 * The answers that tell a user this crowd made them a buyer: "won" (0), or
 * "already bought" (2) to the retry of a click told "timeout" (6) or
 * "unavailable" (10), or whose connection failed. Those two may be answered while Redis still runs the
 * batch (Consumer.sweep, Consumer.resolve): the click may have won, and its
 * retry says so with the order number. For users who were buyers before the
 * crowd, filter them out first: their retry's 2 is their old order.
 */
export function wins(told: readonly Told[]): Told[] {
  return told.filter((x) => x.code === 0 || (x.code === 2 && x.afterRetry));
}

export interface CrowdOptions {
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Called after every answer, with the wins so far (see `wins`); may change `bases` (a server stopped or added). */
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
  const queue = users.map((user) => ({ user, retried: false }));
  const tokens = new Map(users.map((u) => [u, token(u)]));
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let next = 0;
  let stop = false;
  let won = 0;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const click = queue.shift();
      if (click === undefined) return;
      const { user } = click;
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
        // The request may have been decided and its answer lost: the retry's 2 is then this click's win.
        queue.push({ user, retried: true });
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const t: Told = { user, code, order, sent, at: Date.now(), afterRetry: click.retried };
      told.push(t);
      if (wins([t]).length > 0) won++;
      if (process.env.CROWD_DEBUG && told.length % 500 === 0) {
        const by: Record<number, number> = {};
        for (const x of told) by[x.code] = (by[x.code] ?? 0) + 1;
        process.stderr.write(`crowd: ${told.length} answers, queue ${queue.length}, ${JSON.stringify(by)}\n`);
      }
      opts.onAnswer?.(t, won);
      if (RETRY.has(code)) {
        queue.push({ user, retried: true });
        if (code === 10) await new Promise((r) => setTimeout(r, 5));
      }
      if (opts.done?.(told)) stop = true;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return told;
}
