import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { OUTCOMES, Outcome } from '../src/outcome';
import { readScripts } from '../src/redis/scripts';

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

/** Rows of the README's "Outcome codes" table: code → [name, meaning, status]. */
function readmeOutcomes(): Map<number, string[]> {
  const section = readme.split('### Outcome codes')[1] ?? '';
  const rows = new Map<number, string[]>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const code = Number(cells[1]);
    if (line.startsWith('|') && /^\d+$/.test(cells[1] ?? '')) rows.set(code, cells.slice(2, 5));
    if (rows.size > 0 && !line.startsWith('|')) break;
  }
  return rows;
}

t.test('every outcome is documented in the README with its name, meaning and status', async (t) => {
  const rows = readmeOutcomes();
  t.equal(rows.size, OUTCOMES.length, 'one row per outcome');
  for (const o of OUTCOMES) {
    const row = rows.get(o.code);
    t.ok(row, `code ${o.code} has a row`);
    if (!row) continue;
    t.equal(row[0], o.name, `code ${o.code} name`);
    t.equal(row[1], o.message, `code ${o.code} meaning`);
    t.match(row[2] ?? '', new RegExp(`^${o.status}\\b`), `code ${o.code} status`);
  }
});

t.test('the codes are 0..n-1 in order and the enum matches the table', async (t) => {
  OUTCOMES.forEach((o, i) => t.equal(o.code, i));
  t.equal(Outcome.Expired, OUTCOMES.length - 1);
});

t.test('the buy script returns only codes the enum knows, as its header says', async (t) => {
  const buy = readScripts().find((s) => s.name === 'buy');
  t.ok(buy, 'lua/buy-8.lua is loaded');
  const returned = new Set([...(buy?.lua ?? '').matchAll(/out\[2 \* i\] = (\d+)|all\((\d+)/g)].map((m) => Number(m[1] ?? m[2])));
  t.ok(returned.size >= 5, 'found its codes');
  for (const code of returned) {
    t.ok(OUTCOMES.some((o) => o.code === code), `code ${code} is an Outcome`);
    t.match(buy?.lua ?? '', new RegExp(`^\\s+${code} \\w`, 'm'), `code ${code} is in the header`);
  }
});
