/**
 * Reads `/metrics` with a bearer token and returns a lookup of its samples:
 * the sum of every sample of `name` whose labels include `labels` (so
 * `{ stage: 'redis', outcome: 'won' }` counts both channels), undefined when
 * none matches.
 */
export async function scrape(base: string, bearer: string): Promise<(name: string, labels?: Record<string, string>) => number | undefined> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${bearer}` } });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const samples: { name: string; labels: Map<string, string>; value: number }[] = [];
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-z_:]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const labels = new Map([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((l) => [l[1] as string, l[2] as string]));
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return (name, labels = {}) => {
    const want = Object.entries(labels);
    const hits = samples.filter((s) => s.name === name && want.every(([k, v]) => s.labels.get(k) === v));
    return hits.length === 0 ? undefined : hits.reduce((sum, s) => sum + s.value, 0);
  };
}
