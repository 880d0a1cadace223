import { mintToken } from '../../src/auth/jwt';

/** A small sale through the published port, with real HTTP, as a user of the image would see it. */
export interface Secrets {
  readonly jwtSecret: string;
  readonly adminToken: string;
}

export const EVENT = 'image-test';
export const STOCK = 2;

export interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function call(url: string, init: RequestInit): Promise<Answer> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body };
}

export function expect(what: string, got: Answer, want: { status: number; body: Record<string, unknown> }): void {
  const bad = got.status !== want.status || Object.entries(want.body).some(([k, v]) => got.body[k] !== v);
  if (bad) throw new Error(`${what}: expected ${want.status} ${JSON.stringify(want.body)}, got ${got.status} ${JSON.stringify(got.body)}`);
}

export function putEvent(base: string, s: Secrets): Promise<Answer> {
  const now = Date.now();
  return call(`${base}/admin/events/${EVENT}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ stock: STOCK, start: new Date(now).toISOString(), end: new Date(now + 3_600_000).toISOString() }),
  });
}

export function buy(base: string, s: Secrets, user: string): Promise<Answer> {
  return call(`${base}/events/${EVENT}/buy`, { method: 'POST', headers: { authorization: `Bearer ${mintToken(s.jwtSecret, user)}` } });
}

export function order(base: string, s: Secrets, user: string): Promise<Answer> {
  return call(`${base}/events/${EVENT}/order`, { headers: { authorization: `Bearer ${mintToken(s.jwtSecret, user)}` } });
}

export function stats(base: string, s: Secrets): Promise<Answer> {
  return call(`${base}/admin/events/${EVENT}`, { headers: { authorization: `Bearer ${s.adminToken}` } });
}

/** The user's order once MySQL has it (the persister writes it within moments of the win). */
export async function confirmedOrder(base: string, s: Secrets, user: string, timeoutMs = 20_000): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await order(base, s, user);
    if (answer.body.s !== 'pending' || Date.now() > deadline) return answer;
    // The persister's progress is not visible from outside but through this answer: ask again shortly.
    await new Promise((r) => setTimeout(r, 200));
  }
}
