/**
 * A ramping-VU flash sale against seckill, for users who have k6 (>= 0.52
 * runs TypeScript as it is):
 *
 *   SECKILL_JWT_SECRET=... k6 run -e BASE_URL=http://127.0.0.1:8080 -e EVENT=demo bench/k6/sale.ts
 *
 * Each VU is a user (some click several times); tokens are minted here with
 * HS256 and the server's secret. Thresholds fail the run when answers are
 * slow or anything but a decision or "busy" comes back.
 */
import { check } from 'k6';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import type { Options } from 'k6/options';

const BASE = __ENV.BASE_URL ?? 'http://127.0.0.1:8080';
const EVENT = __ENV.EVENT ?? 'demo';
const SECRET = __ENV.SECKILL_JWT_SECRET ?? '';

export const options: Options = {
  scenarios: {
    sale: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: '5s', target: 200 },
        { duration: '20s', target: 1000 },
        { duration: '5s', target: 0 },
      ],
      gracefulRampDown: '2s',
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<20', 'p(99)<50'],
    checks: ['rate>0.99'],
  },
};

const outcomes = new Counter('seckill_outcomes');

function jwt(user: string): string {
  const header = encoding.b64encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' }), 'rawurl');
  const payload = encoding.b64encode(JSON.stringify({ sub: user }), 'rawurl');
  const signature = crypto.hmac('sha256', SECRET, `${header}.${payload}`, 'base64rawurl');
  return `${header}.${payload}.${signature}`;
}

const tokens: Record<string, string> = {};

export function setup(): void {
  if (SECRET === '') throw new Error('set SECKILL_JWT_SECRET (the server\'s) with -e or in the environment');
}

export default function sale(): void {
  // Every VU is one user; about a third of iterations are repeat clicks.
  const user = `k6-${__VU}-${Math.floor(__ITER / 3)}`;
  const token = (tokens[user] ??= jwt(user));
  const res = http.post(`${BASE}/events/${EVENT}/buy`, null, { headers: { authorization: `Bearer ${token}` } });
  const body = res.json() as { c?: number } | null;
  const code = body?.c ?? -1;
  outcomes.add(1, { code: String(code) });
  check(res, { 'a decision or busy': () => [0, 1, 2, 5].includes(code) });
}
