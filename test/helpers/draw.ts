import { ADMIN, token } from './app';

/** One buy's answer, with when it came (Date.now()). */
export interface Click {
  readonly user: string;
  readonly base: string;
  readonly code: number;
  readonly order: number;
  readonly at: number;
}

/** One buy over HTTP; a failed connection reads as code -1. */
export async function click(base: string, event: string, user: string, signal?: AbortSignal): Promise<Click> {
  try {
    const res = await fetch(`${base}/events/${event}/buy`, { method: 'POST', headers: { authorization: `Bearer ${token(user)}` }, signal });
    const body = (await res.json()) as { c: number; o?: number };
    return { user, base, code: body.c, order: body.o ?? 0, at: Date.now() };
  } catch {
    return { user, base, code: -1, order: 0, at: Date.now() };
  }
}

/** Creates an event with a draw at the opening, `inMs` from now. */
export async function putDrawEvent(base: string, event: string, def: { stock: number; start: number; drawMs: number; end?: number; payWithin?: number }): Promise<Response> {
  return fetch(`${base}/admin/events/${event}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ end: def.start + 3_600_000, ...def }),
  });
}

/** The public view of an event. */
export async function publicView(base: string, event: string): Promise<{ drawMs?: number; drawCommit?: string; drawSeed?: string; entrants?: number; soldOut: boolean; paused: boolean }> {
  return (await (await fetch(`${base}/events/${event}`)).json()) as never;
}

export async function sleepUntil(at: number): Promise<void> {
  const ms = at - Date.now();
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}
