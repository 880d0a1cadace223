import { allocate, commitOf, entrantKey, SEED_SHAPE } from '../events/draw';
import { ConfigError } from '../config';

/** What `GET /events/{e}/draw` publishes. */
interface PublishedDraw {
  readonly event: string;
  readonly drawCommit: string;
  readonly drawSeed: string;
  readonly stock: number;
  readonly entrants: [key: string, asked: number, won: number][];
}

/** The shape `GET /events/{e}/draw` answers; anything else is no draw to check (a clear error, not a TypeError). */
function isPublishedDraw(v: unknown): v is PublishedDraw {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  const entry = (e: unknown): boolean =>
    Array.isArray(e) && e.length === 3 && typeof e[0] === 'string' && Number.isInteger(e[1]) && Number.isInteger(e[2]);
  return typeof d.drawSeed === 'string' && typeof d.drawCommit === 'string' && Number.isInteger(d.stock) && Array.isArray(d.entrants) && d.entrants.every(entry);
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly lines: string[];
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new ConfigError(`draw verify: could not reach ${url}: ${(err as Error).message}`);
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new ConfigError(`draw verify: ${url} answered ${res.status} with no JSON`);
  }
}

/**
 * `seckill draw verify`: fetches an event's public view and its published
 * draw, and checks, from the seed alone, that (1) the seed is the one
 * committed to (its SHA-256 is the commit shown since the event was
 * defined), (2) the list holds as many entrants as the event says, each key
 * once, and (3) taking the units in ascending score, HMAC-SHA256(seed,
 * entrant key), each entrant all it asked or nothing, gives every entrant
 * exactly the units published as won. With `user`, also whether that user's
 * entrant key is in the list and what it won.
 */
export async function drawVerify(base: string, event: string, user?: string): Promise<VerifyReport> {
  const root = base.replace(/\/+$/, '');
  const view = await getJson(`${root}/events/${encodeURIComponent(event)}`);
  if (view.status !== 200) throw new ConfigError(`draw verify: no event "${event}" at ${root} (${view.status})`);
  const shown = (typeof view.body === 'object' && view.body !== null ? view.body : {}) as { drawCommit?: string; drawSeed?: string; entrants?: number };
  if (shown.drawCommit === undefined) throw new ConfigError(`draw verify: "${event}" has no draw`);
  const got = await getJson(`${root}/events/${encodeURIComponent(event)}/draw`);
  if (got.status !== 200) throw new ConfigError(`draw verify: the draw of "${event}" is not published: ${(got.body as { error?: string }).error ?? got.status}`);
  const draw = got.body;
  if (!isPublishedDraw(draw)) throw new ConfigError(`draw verify: ${root}/events/${event}/draw did not answer a published draw (seed, stock and a list of [key, asked, won])`);
  const lines: string[] = [];
  let ok = true;
  const check = (pass: boolean, what: string): void => {
    lines.push(`${pass ? 'ok  ' : 'FAIL'} ${what}`);
    if (!pass) ok = false;
  };
  const seed = draw.drawSeed;
  check(SEED_SHAPE.test(seed), 'the seed is 32 bytes of hex');
  check(draw.drawCommit === shown.drawCommit, 'the draw names the commit the event shows');
  check(SEED_SHAPE.test(seed) && commitOf(seed) === shown.drawCommit, 'SHA-256 of the seed is the commit published before the draw');
  const keys = new Set(draw.entrants.map(([key]) => key));
  check(keys.size === draw.entrants.length, `each entrant key once (${draw.entrants.length})`);
  check(shown.entrants === undefined || shown.entrants === draw.entrants.length, `as many entrants as the event shows (${shown.entrants ?? '?'})`);
  const won = allocate(seed, draw.stock, draw.entrants.map(([key, asked]) => ({ key, asked })));
  const wrong = draw.entrants.filter(([key, , w]) => won.get(key) !== w);
  const units = draw.entrants.reduce((n, [, , w]) => n + w, 0);
  check(wrong.length === 0, `recomputed from the seed, every entrant won what is published (${units} of ${draw.stock} units)`);
  for (const [key, , w] of wrong.slice(0, 5)) lines.push(`     ${key}: published ${w}, recomputed ${won.get(key) ?? 0}`);
  if (user !== undefined) {
    const key = entrantKey(user);
    const mine = draw.entrants.find(([k]) => k === key);
    lines.push(mine === undefined ? `     ${user} (${key}) did not enter` : `     ${user} (${key}) asked ${mine[1]}, won ${mine[2]}`);
  }
  lines.unshift(`draw of ${draw.event}: ${ok ? 'verified' : 'NOT verified'}`);
  return { ok, lines };
}
