/**
 * Plain SVG bar charts for the bench's results: one bar group per server,
 * one bar (or stacked segment) per series. No dependencies; the text is the
 * data, so a chart diffs like the numbers it shows.
 */
export interface Series {
  readonly name: string;
  readonly values: readonly number[];
}

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948'];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number): string => (v >= 1000 ? Math.round(v).toLocaleString('en') : String(+v.toFixed(v < 10 ? 2 : 1)));

/**
 * `groups` labels the x axis; each series has one value per group. `stacked`:
 * the series add up within a group (CPU by process), else they stand side by side.
 */
export function barChart(title: string, unit: string, groups: readonly string[], series: readonly Series[], stacked = false): string {
  const W = 640;
  const H = 320;
  const left = 70;
  const top = 40;
  const bottom = 50;
  const plotH = H - top - bottom;
  const plotW = W - left - 20;
  const totals = groups.map((_, g) => (stacked ? series.reduce((a, s) => a + (s.values[g] ?? 0), 0) : Math.max(...series.map((s) => s.values[g] ?? 0))));
  const max = Math.max(1e-9, ...totals) * 1.1;
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  const groupW = plotW / Math.max(1, groups.length);
  const barW = stacked ? groupW * 0.5 : (groupW * 0.7) / Math.max(1, series.length);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="14" y="${top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + plotH / 2})">${esc(unit)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 1.1) * (i / 4);
    out.push(`<line x1="${left}" x2="${W - 20}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupW + (groupW - (stacked ? barW : barW * series.length)) / 2;
    let base = 0;
    series.forEach((s, si) => {
      const v = s.values[gi] ?? 0;
      const x = stacked ? x0 : x0 + si * barW;
      const y1 = y(base + v);
      const h = y(base) - y1;
      out.push(`<rect x="${x.toFixed(1)}" y="${y1.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${Math.max(0, h).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"><title>${esc(`${g} ${s.name}: ${fmt(v)} ${unit}`)}</title></rect>`);
      if (!stacked && v > 0) out.push(`<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(y1 - 3).toFixed(1)}" text-anchor="middle" font-size="10">${fmt(v)}</text>`);
      if (stacked) base += v;
    });
    if (stacked) out.push(`<text x="${(x0 + barW / 2).toFixed(1)}" y="${(y(base) - 4).toFixed(1)}" text-anchor="middle" font-size="10">${fmt(base)}</text>`);
    out.push(`<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle">${esc(g)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${W - 20}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  if (series.length > 1) {
    series.forEach((s, si) => {
      const x = left + si * 130;
      out.push(`<rect x="${x}" y="${H - 18}" width="10" height="10" fill="${COLORS[si % COLORS.length]}"/><text x="${x + 14}" y="${H - 9}">${esc(s.name)}</text>`);
    });
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
