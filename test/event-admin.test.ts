import t from 'tap';
import { ADMIN, buy, putEvent, testApp } from './helpers/app';

const admin = { authorization: `Bearer ${ADMIN}` };
const HOUR = 3_600_000;

async function put(base: string, id: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/admin/events/${id}`, { method: 'PUT', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

t.test('GET /admin/events: every event with its state, units left and window', async (t) => {
  const app = await testApp(t);
  const list = async (): Promise<{ status: number; body: { events: Record<string, unknown>[] } }> => {
    const res = await fetch(`${app.base}/admin/events`, { headers: admin });
    return { status: res.status, body: (await res.json()) as { events: Record<string, unknown>[] } };
  };
  t.same(await list(), { status: 200, body: { events: [] } }, 'none yet');

  const now = Date.now();
  t.equal((await putEvent(app.base, 'later', { stock: 5, start: now + HOUR, end: now + 2 * HOUR, name: 'Later' })).status, 201);
  t.equal((await putEvent(app.base, 'open', { stock: 3, start: now - 2_000, end: now + HOUR })).status, 201);
  t.equal((await putEvent(app.base, 'gone', { stock: 1, start: now - 3_000, end: now + HOUR })).status, 201);
  // A window already over: its start within the minute the API accepts.
  t.equal((await putEvent(app.base, 'over', { stock: 2, start: now - 30_000, end: now - 10_000 })).status, 201);
  t.equal((await buy(app.base, 'gone', 'u1')).c, 0);
  t.equal((await buy(app.base, 'open', 'u1')).c, 0);

  const { status, body } = await list();
  t.equal(status, 200);
  const iso = (ms: number): string => new Date(ms).toISOString();
  t.same(body.events, [
    { event: 'over', name: '', stock: 2, start: iso(now - 30_000), end: iso(now - 10_000), payWithin: 0, state: 'ended', paused: false, soldOut: false, remaining: 2 },
    { event: 'gone', name: '', stock: 1, start: iso(now - 3_000), end: iso(now + HOUR), payWithin: 0, state: 'open', paused: false, soldOut: true, remaining: 0 },
    { event: 'open', name: '', stock: 3, start: iso(now - 2_000), end: iso(now + HOUR), payWithin: 0, state: 'open', paused: false, soldOut: false, remaining: 2 },
    { event: 'later', name: 'Later', stock: 5, start: iso(now + HOUR), end: iso(now + 2 * HOUR), payWithin: 0, state: 'scheduled', paused: false, soldOut: false, remaining: 5 },
  ], 'by start; remaining is Redis\' count');

  const anonymous = await fetch(`${app.base}/admin/events`);
  t.same([anonymous.status, await anonymous.json()], [401, { c: 8, error: 'admin token required' }], 'the admin token is needed');
  const wrong = await fetch(`${app.base}/admin/events`, { headers: { authorization: 'Bearer not-the-admin-token' } });
  t.same([wrong.status, await wrong.json()], [401, { c: 8, error: 'wrong admin token' }], 'a token sent but not the admin one: said so, not "required"');
  const post = await fetch(`${app.base}/admin/events`, { method: 'POST', headers: admin });
  t.same([post.status, post.headers.get('allow'), ((await post.json()) as { c: number }).c], [405, 'GET, HEAD', 9], 'another method: 405');
});

t.test('PUT /admin/events/{e}: times that would be read otherwise than meant are refused, code 9, nothing made', async (t) => {
  const app = await testApp(t);
  const now = Date.now();
  const end = new Date(now + 2 * HOUR).toISOString();
  const cases: [string, unknown, RegExp][] = [
    ['a date alone', '2030-12-04', /^start "2030-12-04" is a date without a time: give the time and its offset \(2030-12-04T10:00:00Z, 2030-12-04T10:00:00\+08:00\)$/],
    ['a time without offset', '2030-12-04T10:00:00', /^start "2030-12-04T10:00:00" has no offset, so its zone is a guess: add Z \(UTC\) or an offset such as \+08:00/],
    ['epoch seconds', Math.floor(now / 1000) + 600, /^start \d+ is below 10\^12: seconds\? give milliseconds \(\d+000\)$/],
    ['epoch seconds, as text', String(Math.floor(now / 1000) + 600), /seconds\? give milliseconds/],
    ['epoch microseconds', (now + 600_000) * 1000, /microseconds\? give milliseconds/],
    ['no such day', '2030-02-30T10:00:00Z', /is not a real date and time/],
    ['two hours ago', now - 2 * HOUR, /^start .* is 2 hours in the past: to open the sale at once give now, else a time to come$/],
    ['five minutes ago', new Date(now - 300_000).toISOString(), /is 5 minutes in the past/],
  ];
  for (const [what, start, message] of cases) {
    const r = await put(app.base, 'typo', { stock: 5, start, end });
    t.equal(r.status, 400, `${what}: 400`);
    t.match(r.body, { c: 9, error: message }, `${what}: says why`);
  }
  const endless = await put(app.base, 'typo', { stock: 5, start: 'now', end: '2030-12-04' });
  t.match(endless.body, { c: 9, error: /^end "2030-12-04" is a date without a time/ }, 'end has the same rules');
  t.equal(await app.redis.exists('sk:{typo}:meta'), 0, 'nothing was made');

  const opened = await put(app.base, 'now', { stock: 5, start: 'now', end });
  t.match(opened, { status: 201, body: { result: 'created', state: 'open' } }, '"now": the server\'s clock');
  t.ok(Math.abs(Date.parse(String(opened.body.start)) - Date.now()) < 5_000, 'start is now');
  t.equal((await put(app.base, 'ago', { stock: 5, start: now - 50_000, end })).status, 201, 'less than a minute ago: accepted');
  const offset = await put(app.base, 'cst', { stock: 5, start: '2030-12-04T10:00:00+08:00', end: '2030-12-04T11:00:00+0800' });
  t.match(offset, { status: 201, body: { start: '2030-12-04T02:00:00.000Z', end: '2030-12-04T03:00:00.000Z' } }, 'an offset is honoured');
});

t.test("corrections: an event's own start may be put again long after it passed; a change is refused once it has buyers", async (t) => {
  const app = await testApp(t);
  const now = Date.now();
  // Made two hours ago, as the API can no longer be asked to: through the catalog.
  const def = { stock: 5, start: now - 2 * HOUR, end: now + HOUR, name: 'typo', payWithin: 0 };
  await app.catalog.put('old', def);
  t.match(await put(app.base, 'old', def), { status: 200, body: { result: 'unchanged' } }, 'the same definition again');
  const fixed = await put(app.base, 'old', { ...def, stock: 50, name: 'Fixed' });
  t.match(fixed, { status: 200, body: { result: 'updated', stock: 50, name: 'Fixed', state: 'open', remaining: 50 } }, 'no buyers: corrected after its start');
  t.equal(await app.redis.get('sk:{old}:stock'), '50');
  t.match(await put(app.base, 'old', { ...def, start: now - HOUR }), { status: 400, body: { error: /is 60 minutes in the past/ } }, 'a new start long past: still refused');
  t.same(await buy(app.base, 'old', 'b1'), { status: 200, c: 0, o: 1 }, 'sold under the corrected definition');
  const late = await put(app.base, 'old', { ...def, stock: 60, name: 'Fixed' });
  t.match(late, { status: 409, body: { result: 'refused: the sale has buyers; only an identical definition is accepted', stock: 50, remaining: 49 } }, 'one buyer: 409');
  t.equal(await app.redis.get('sk:{old}:stock'), '49', 'the refused change took nothing back');
});
