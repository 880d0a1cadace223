/** A V8 .cpuprofile (node --cpu-prof), as much of it as the summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

type Frame = CpuProfile['nodes'][number]['callFrame'];

/** Self time (µs) summed by `keyOf(frame)` over the whole profile, idle excluded, and the busy total. */
function selfTimeBy(p: CpuProfile, keyOf: (f: Frame) => string): { self: Map<string, number>; total: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    const n = byId.get(id);
    // Idle time is not work; (program) is V8 outside JS, small and unattributable.
    if (n === undefined || n.callFrame.functionName === '(idle)') return;
    const key = keyOf(n.callFrame);
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return { self, total };
}

/** A markdown table of rows (name, µs), each divided by `per`, with its share of the busy time. */
function table(head: string, unit: string, rows: [string, number][], per: number, total: number): string {
  return [
    `| ${head} | self µs per ${unit} | share of busy samples |`,
    `|---|---|---|`,
    ...rows.map(([k, us]) => `| ${k} | ${(us / Math.max(1, per)).toFixed(2)} | ${((us / Math.max(1, total)) * 100).toFixed(1)} % |`),
  ].join('\n');
}

/**
 * Self time by function over the whole profile, divided by `per` (won
 * requests, or any `unit`): a markdown table of the `top` largest, with the
 * file they are in.
 */
export function summarizeProfile(p: CpuProfile, per: number, top: number, unit = 'won request'): string {
  const { self, total } = selfTimeBy(p, (f) => {
    const file = f.url === '' ? '' : f.url.replace(/^.*\/(node_modules\/[^/]+|dist\/)/, '$1').replace(/^file:\/\//, '');
    return `${f.functionName || '(anonymous)'} ${file === '' ? '' : `(${file}:${f.lineNumber + 1})`}`.trim();
  });
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return table('function', unit, rows.map(([k, us]) => [`\`${k.replace(/\|/g, '\\|')}\``, us]), per, total);
}

/** Which part of the process a frame belongs to: an npm package, a folder of src/, Node's own modules, or V8 (GC, program). */
function partOf(f: Frame): string {
  const url = f.url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return pkg[1] ?? url;
  const own = /dist\/(src\/[^/]+|bench)\//.exec(url);
  if (own !== null) return own[1] ?? url;
  if (url.startsWith('node:')) return 'node: (built-in modules)';
  if (url === '') return f.functionName.startsWith('(') ? f.functionName : '(native: socket writes, crypto, ...)';
  return url;
}

/** Self time summed by part (see partOf), divided by `per`: where a request's node CPU goes, by component (parts under 0.5 % left out). */
export function summarizeByPart(p: CpuProfile, per: number, unit = 'won request'): string {
  const { self, total } = selfTimeBy(p, partOf);
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).filter(([, us]) => us / total >= 0.005);
  return table('part', unit, rows, per, total);
}
