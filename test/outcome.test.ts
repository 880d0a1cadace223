import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { OUTCOME_BY_CODE, OUTCOME_COUNT, OUTCOMES, Outcome } from '../src/outcome';
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

t.test('the codes ascend, unique, and the enum matches the table', async (t) => {
  OUTCOMES.forEach((o, i) => i > 0 && t.ok(o.code > (OUTCOMES[i - 1]?.code ?? -1), `${o.code} after ${OUTCOMES[i - 1]?.code}`));
  const enumCodes = Object.values(Outcome).filter((v): v is number => typeof v === 'number');
  t.same(enumCodes, OUTCOMES.map((o) => o.code), 'every enum member has a row, in order');
  t.equal(OUTCOME_COUNT, Outcome.Paused + 1, 'counters are sized past the highest code');
  for (const o of OUTCOMES) t.equal(OUTCOME_BY_CODE[o.code], o, `OUTCOME_BY_CODE[${o.code}]`);
  // 13 and 14 (lots) and 15 (proof of work) were reserved and are now taken: no gap is left.
  t.same(OUTCOMES.map((o) => o.code), Array.from({ length: OUTCOME_COUNT }, (_, c) => c), 'every code from 0 to the highest has its row');
  t.equal(OUTCOME_BY_CODE[OUTCOME_COUNT], undefined, 'no code past the highest');
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
