/** A V8 .cpuprofile (node --cpu-prof), as much of it as the summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self time by function over the whole profile, divided by `per` (won
 * requests): a markdown table of the `top` largest, with the file they are in.
 */
export function summarizeProfile(p: CpuProfile, per: number, top: number): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    const n = byId.get(id);
    // Idle time is not work; (program) is V8 outside JS, small and unattributable.
    if (n === undefined || n.callFrame.functionName === '(idle)') return;
    const f = n.callFrame;
    const file = f.url === '' ? '' : f.url.replace(/^.*\/(node_modules\/[^/]+|dist\/)/, '$1').replace(/^file:\/\//, '');
    const key = `${f.functionName || '(anonymous)'} ${file === '' ? '' : `(${file}:${f.lineNumber + 1})`}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `| function | self µs per won request | share of busy samples |`,
    `|---|---|---|`,
    ...rows.map(([k, us]) => `| \`${k.replace(/\|/g, '\\|')}\` | ${(us / Math.max(1, per)).toFixed(2)} | ${((us / Math.max(1, total)) * 100).toFixed(1)} % |`),
  ].join('\n');
}
