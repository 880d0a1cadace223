import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { OUTCOMES } from '../src/outcome';
import { ADMIN, buy, openEvent, putEvent, testApp } from './helpers/app';

const ROOT = path.join(__dirname, '..');
const spec = fs.readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8');

/**
 * "METHOD /path" → documented statuses, read from the paths section's
 * indentation. Every GET is also a HEAD (src/http/routes.ts): a path's HEAD
 * has its GET's statuses unless the spec lists a head of its own.
 */
function documented(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const body = spec.slice(spec.indexOf('\npaths:\n'));
  let route = '';
  let current: string[] | undefined;
  for (const line of body.split('\n')) {
    const p = /^ {2}(\/\S*):$/.exec(line);
    if (p) route = p[1]!;
    const m = /^ {4}(get|post|put|head|delete|patch):$/.exec(line);
    if (m) out.set(`${m[1]!.toUpperCase()} ${route}`, (current = []));
    const s = /^ {8}'(\d{3})':/.exec(line);
    if (s && current) current.push(s[1]!);
  }
  for (const [route, statuses] of [...out]) {
    const head = route.replace(/^GET /, 'HEAD ');
    if (head !== route && !out.has(head)) out.set(head, statuses);
  }
  return out;
}

/** "METHOD /path" of every route the server registers (src/http, src/ws), `:p` → `{p}`; a GET is a HEAD too. */
function registered(): Set<string> {
  const out = new Set<string>();
  for (const dir of [path.join(ROOT, 'src', 'http'), path.join(ROOT, 'src', 'ws')]) {
    for (const file of fs.readdirSync(dir)) {
      const src = fs.readFileSync(path.join(dir, file), 'utf8');
      // routes.get('/path', …), routes.ws('/path', …) (an upgrade: a GET).
      for (const m of src.matchAll(/\.(get|post|put|del|patch|ws)(?:<\w+>)?\('(\/[^']*)'/g)) {
        const method = m[1] === 'del' ? 'DELETE' : m[1] === 'ws' ? 'GET' : m[1]!.toUpperCase();
        const route = m[2]!.replace(/:(\w+)/g, '{$1}');
        out.add(`${method} ${route}`);
        if (method === 'GET') out.add(`HEAD ${route}`);
      }
    }
  }
  return out;
}

/** The methods the spec documents on each path (GET with its HEAD), as an Allow header lists them. */
function allowedByPath(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const route of documented().keys()) {
    const [method, p] = route.split(' ') as [string, string];
    out.set(p, [...(out.get(p) ?? []), method]);
  }
  return out;
}

t.test('openapi.yaml documents exactly the routes the server registers', async (t) => {
  t.same([...documented().keys()].sort(), [...registered()].sort());
});

t.test('openapi.yaml lists every outcome code with its name and status', async (t) => {
  const listed = [...spec.matchAll(/^ {8}(\d+): \{ name: (\w+), status: (\d+) \}$/gm)].map((m) => [Number(m[1]), m[2], Number(m[3])]);
  t.same(listed, OUTCOMES.map((o) => [o.code, o.name, o.status]));
});

t.test('each route answers with a status it documents', async (t) => {
  const app = await testApp(t);
  await openEvent(t, app.base, 'spec', 5);
  for (const [route, statuses] of documented()) {
    const [method, p] = route.split(' ') as [string, string];
    const res = await fetch(app.base + p.replace('{event}', 'spec').replace('{n}', '1'), { method, redirect: 'manual' });
    await res.arrayBuffer();
    t.ok(statuses.includes(String(res.status)), `${route} without credentials: ${res.status} is documented (${statuses.join(', ')})`);
  }
});

t.test('every path answers another method with its documented 405, and an Allow that lists what the spec documents', async (t) => {
  const app = await testApp(t);
  for (const [p, methods] of allowedByPath()) {
    const route = `DELETE ${p}`;
    const res = await fetch(app.base + p.replace('{event}', 'spec').replace('{n}', '1'), { method: 'DELETE', redirect: 'manual' });
    await res.arrayBuffer();
    t.equal(res.status, 405, `${route}: 405`);
    t.same((res.headers.get('allow') ?? '').split(', ').sort(), [...methods].sort(), `${route}: Allow: ${res.headers.get('allow')}`);
    for (const m of methods) t.ok(documented().get(`${m} ${p}`)?.includes('405'), `${m} ${p} documents its 405`);
  }
});

/** The `required` list of a schema under components.schemas (written on one line). */
function requiredOf(schema: string): string[] {
  const start = spec.indexOf(`\n    ${schema}:\n`);
  const next = spec.slice(start + 1).search(/\n {4}\S/);
  const block = spec.slice(start, next < 0 ? undefined : start + 1 + next);
  const m = /\n {6}required: \[([^\]]*)\]/.exec(block);
  if (start < 0 || m === null) throw new Error(`no required list for ${schema}`);
  return m[1]!.split(',').map((k) => k.trim()).sort();
}
const keys = (o: unknown): string[] => Object.keys(o as object).sort();

t.test("the admin answers have exactly the fields their schemas require", async (t) => {
  const app = await testApp(t);
  const created = await putEvent(app.base, 'spec', { stock: 5 });
  t.same([created.status, keys(await created.json())], [201, requiredOf('PutResult')], 'PUT 201: PutResult');
  t.equal((await buy(app.base, 'spec', 'ada')).c, 0);
  const stats = (await (await fetch(`${app.base}/admin/events/spec`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as Record<string, unknown>;
  t.same(keys(stats), requiredOf('EventStats'), 'GET: EventStats');
  t.same(keys(stats.payments), ['due', 'expired', 'paid']);
  t.same(keys(stats.queue), ['capacity', 'parked', 'waiting']);
  t.same(keys(stats.local), ['knownWinners', 'queuedUsers', 'remaining', 'reserved']);
  t.same(keys(stats.outcomesByChannel), ['http', 'ws']);
  const [first] = stats.processes as unknown[];
  t.same(keys(first), ['id', 'outcomes', 'parked', 'state', 'waiting'], 'a process row');
  for (const [what, res] of [
    ['401', await fetch(`${app.base}/admin/events/spec`)],
    ['404', await fetch(`${app.base}/admin/events/nosuch`, { headers: { authorization: `Bearer ${ADMIN}` } })],
    ['400', await putEvent(app.base, 'bad', { stock: -1 })],
  ] as const) {
    t.same(keys(await res.json()), requiredOf('AdminError'), `${what}: AdminError`);
  }
});
