import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';

/** In process: rules of the house that reading the sources can check. */

const SRC = path.join(__dirname, '..', 'src');

function sources(dir = SRC): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const file = path.join(dir, d.name);
    return d.isDirectory() ? sources(file) : d.name.endsWith('.ts') ? [file] : [];
  });
}

t.test('one module touches a uWS response: src/http/exchange.ts', async (t) => {
  const files = sources();
  t.ok(files.length > 50, `the sources were found (${files.length} files)`);
  const touching = files
    .filter((f) => /\bHttpResponse\b|\.onAborted\(/.test(fs.readFileSync(f, 'utf8')))
    .map((f) => path.relative(SRC, f));
  t.same(touching, ['http/exchange.ts'], 'HttpResponse and onAborted appear in exchange.ts alone');
});

/** The layer table of docs/ARCHITECTURE.md: each entry of src/ (a folder or a top-level file) → its layer, 1 = top. */
function layers(): Map<string, number> {
  const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'ARCHITECTURE.md'), 'utf8');
  const table = doc.slice(doc.indexOf('<!-- layers:'));
  const out = new Map<string, number>();
  for (const row of table.split('\n').slice(1)) {
    if (!row.startsWith('|')) {
      if (out.size > 0) break;
      continue;
    }
    const m = /^\| (\d+) [^|]*\| ([^|]*) \|/.exec(row);
    if (m === null) continue;
    for (const entry of m[2]!.matchAll(/`([^`]+)`/g)) out.set(entry[1]!.replace(/\/$/, ''), Number(m[1]));
  }
  return out;
}

/** The src/ entry a file belongs to: its top folder, or itself at the top. */
function entryOf(file: string): string {
  const rel = path.relative(SRC, file);
  return rel.includes(path.sep) ? rel.slice(0, rel.indexOf(path.sep)) : rel;
}

/** Every relative import of each source file (type-only ones too), resolved to files. */
function imports(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of sources()) {
    const text = fs.readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gm)) {
      const base = path.resolve(path.dirname(file), m[1]!);
      const found = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
      if (found !== undefined) targets.push(found);
    }
    out.set(file, targets);
  }
  return out;
}

t.test('imports point down the layers docs/ARCHITECTURE.md draws, and never in a circle', async (t) => {
  const layer = layers();
  t.ok(layer.size >= 15, `the layer table was read (${layer.size} entries)`);
  const graph = imports();
  const entries = new Set([...graph.keys()].map(entryOf));
  t.same([...entries].filter((e) => !layer.has(e)).sort(), [], 'every folder and top-level file of src/ has its layer');
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      const [from, to] = [layer.get(entryOf(file)) ?? 0, layer.get(entryOf(target)) ?? 0];
      if (to < from) upward.push(`${path.relative(SRC, file)} (layer ${from}) imports ${path.relative(SRC, target)} (layer ${to})`);
    }
  }
  t.same(upward, [], 'no import points up');
  // A circle of files: depth-first search for a back edge.
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const visit = (file: string, trail: string[]): void => {
    state.set(file, 'open');
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') circles.push([...trail.slice(trail.indexOf(next)), next].map((f) => path.relative(SRC, f)).join(' → '));
      else if (state.get(next) === undefined) visit(next, [...trail, next]);
    }
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (state.get(file) === undefined) visit(file, [file]);
  t.same(circles, [], 'no import circle');
});
