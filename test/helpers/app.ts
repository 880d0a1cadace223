import type { Test } from 'tap';
import { startSingle, type SingleApp } from '../../src/app';
import { mintToken } from '../../src/auth/jwt';
import { DEFAULT_CONFIG, type Config } from '../../src/config';
import { tempDir, testRedis } from './services';

export const SECRET = 'test-secret-0123456789';
export const ADMIN = 'test-admin-token';

export interface TestApp extends SingleApp {
  readonly base: string;
  readonly redisSocket: string;
  readonly config: Config;
}

/** The real server on 127.0.0.1:any port, on a redis-server of its own (and no MySQL unless given one). */
export async function testApp(t: Test, overrides: Partial<Config> = {}): Promise<TestApp> {
  const dir = tempDir(t);
  const redis = overrides.redisUrl || overrides.redisClusterNodes ? undefined : await testRedis(t, dir);
  const config: Config = Object.freeze({
    ...DEFAULT_CONFIG,
    host: '127.0.0.1',
    port: 0,
    dataDir: dir,
    jwtSecret: SECRET,
    adminToken: ADMIN,
    redisUrl: redis?.socket ?? '',
    // Most files test the sale path alone; the persistence tests pass a MySQL.
    mysqlUrl: 'none',
    // In-process tests look at this process's queue and catalog; worker processes are tested through spawnServer.
    workers: 1,
    // The test's own output stays free of the server's log lines (SECKILL_TEST_LOG_LEVEL=info shows them).
    logLevel: process.env.SECKILL_TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  });
  const app = await startSingle(config);
  t.teardown(() => app.close());
  return { ...app, close: app.close, base: `http://127.0.0.1:${app.port}`, redisSocket: config.redisUrl, config };
}

export function token(user: string, ttlMs?: number): string {
  return mintToken(SECRET, user, ttlMs);
}

export interface Answer {
  readonly status: number;
  readonly c: number;
  readonly o?: number;
}

export async function buy(base: string, event: string, user: string | undefined, init: RequestInit = {}): Promise<Answer> {
  const headers: Record<string, string> = user === undefined ? {} : { authorization: `Bearer ${token(user)}` };
  const res = await fetch(`${base}/events/${event}/buy`, { method: 'POST', ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
  const body = (await res.json()) as { c: number; o?: number };
  return { status: res.status, ...body };
}

/** Creates an event through the admin API; start/end default to open now for an hour. */
export async function putEvent(
  base: string,
  event: string,
  def: { stock: number; start?: number | string; end?: number | string; name?: string; payWithin?: number; pow?: unknown; limit?: number; skus?: Record<string, number>; drawMs?: number },
): Promise<Response> {
  const now = Date.now();
  return fetch(`${base}/admin/events/${event}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ start: now - 1000, end: now + 3_600_000, ...def }),
  });
}

export async function openEvent(t: Test, base: string, event: string, stock: number): Promise<void> {
  const res = await putEvent(base, event, { stock });
  t.equal(res.status, 201, `event ${event} created`);
}

export function count<T>(items: readonly T[], pred: (x: T) => boolean): number {
  return items.reduce((n, x) => (pred(x) ? n + 1 : n), 0);
}

/** Creates an event of `n` units and sells all of them to users `${prefix}0..n-1` over HTTP. */
export async function sellOut(t: Test, app: TestApp, event: string, n: number, prefix: string): Promise<void> {
  await openEvent(t, app.base, event, n);
  // Like a real client, retry "busy", "timeout" and "unavailable" (a loaded machine can time a batch
  // out, many times over when other test files run beside this one), for up to a minute.
  const giveUp = Date.now() + 60_000;
  const once = async (user: string): Promise<Answer> => {
    for (;;) {
      const a = await buy(app.base, event, user);
      if (![5, 6, 10].includes(a.c) || Date.now() > giveUp) return a;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => once(`${prefix}${i}`)));
  const codes: Record<string, number> = {};
  for (const a of answers) codes[a.c] = (codes[a.c] ?? 0) + 1;
  // A first try answered 6 or 10 while Redis decided it may have won: the retry then says 2 with that order.
  const orders = new Set(answers.filter((a) => a.c === 0 || a.c === 2).map((a) => a.o));
  t.equal(orders.size, n, `${event}: all ${n} units sold, one order each`, { codes });
}
