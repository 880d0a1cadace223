/**
 * A ramping-VU flash sale against seckill, for users who have k6:
 *
 *   SECRET=$(node -p "require('./.data/dev-secrets.json').jwtSecret")   # the demo's (npm start), or your SECKILL_JWT_SECRET
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 -e EVENT=demo -e SECKILL_JWT_SECRET=$SECRET bench/k6/sale.ts
 *
 * k6 0.52 to 0.56 needs `--compatibility-mode=experimental_enhanced` to run
 * TypeScript; k6 0.57 and later run it as it is.
 *
 * A VU is not one user: it is one simulated client that loops, and each
 * iteration clicks as user `k6-<VU>-<floor(ITER/3)>`, so a VU plays a new
 * user every 3 iterations (each user clicks 3 times in a row). Tokens are
 * minted here with HS256 and the server's secret. A 429 "busy" (code 5) is
 * a correct answer under load, not a failure: it is excluded from
 * http_req_failed. Thresholds fail the run when answers are slow or
 * anything but a decision or "busy" comes back.
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
    // 429 is marked expected below, so http_req_failed counts only real failures.
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<20', 'p(99)<50'],
    checks: ['rate>0.99'],
  },
};

const outcomes = new Counter('seckill_outcomes');
/** A decision (200) or "busy" (429) is an expected answer; anything else counts in http_req_failed. */
const EXPECTED = http.expectedStatuses(200, 429);

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
  // A new user every 3 iterations of this VU: the first click and two repeats.
  const user = `k6-${__VU}-${Math.floor(__ITER / 3)}`;
  const token = (tokens[user] ??= jwt(user));
  const res = http.post(`${BASE}/events/${EVENT}/buy`, null, { headers: { authorization: `Bearer ${token}` }, responseCallback: EXPECTED });
  const body = res.json() as { c?: number } | null;
  const code = body?.c ?? -1;
  outcomes.add(1, { code: String(code) });
  check(res, { 'a decision or busy': () => [0, 1, 2, 5].includes(code) });
}
