/** Reads `/metrics` with a bearer token and returns a lookup of its samples. */
export async function scrape(base: string, bearer: string): Promise<(name: string, labels?: Record<string, string>) => number | undefined> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${bearer}` } });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m) samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return (name, labels) => {
    const l = labels === undefined ? '' : `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
    return samples.get(name + l);
  };
}
