import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { OUTCOMES } from '../src/outcome';
import { openEvent, testApp } from './helpers/app';

const ROOT = path.join(__dirname, '..');
const spec = fs.readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8');

/** "METHOD /path" → documented statuses, read from the paths section's indentation. */
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
  return out;
}

/** "METHOD /path" of every route the server registers (src/http), `:p` → `{p}`. */
function registered(): Set<string> {
  const out = new Set<string>();
  const dir = path.join(ROOT, 'src', 'http');
  for (const file of fs.readdirSync(dir)) {
    const src = fs.readFileSync(path.join(dir, file), 'utf8');
    // routes.get('/path', …), and the chained .head('/path', …) of src/http/server.ts.
    for (const m of src.matchAll(/\.(get|post|put|head|del|patch)\('(\/[^']*)'/g)) {
      out.add(`${m[1] === 'del' ? 'DELETE' : m[1]!.toUpperCase()} ${m[2]!.replace(/:(\w+)/g, '{$1}')}`);
    }
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
    const res = await fetch(app.base + p.replace('{event}', 'spec'), { method });
    await res.arrayBuffer();
    t.ok(statuses.includes(String(res.status)), `${route} without credentials: ${res.status} is documented (${statuses.join(', ')})`);
  }
});
