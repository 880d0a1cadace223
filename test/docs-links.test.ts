import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';

/** In process: every link between the project's documents lands on a file and a heading that exist, inside the repository. */

const ROOT = path.join(__dirname, '..');
const DOCS = ['README.md', 'docs/ARCHITECTURE.md', 'docs/OPERATIONS.md', 'bench/README.md'];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  const out = new Set<string>();
  // GitHub's anchors only: it prints a `{#id}` after a heading as text.
  for (const m of text.matchAll(/^#{1,6} (.+)$/gm)) out.add(slug(m[1]!));
  return out;
}

t.test('links between the documents resolve, and none leaves the repository', async (t) => {
  const broken: string[] = [];
  let checked = 0;
  for (const doc of DOCS) {
    const file = path.join(ROOT, doc);
    const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http(s), mailto: not files
      checked++;
      const [rel, anchor] = target.split('#') as [string, string | undefined];
      const dest = rel === '' ? file : path.resolve(path.dirname(file), rel);
      if (!dest.startsWith(ROOT + path.sep)) {
        broken.push(`${doc}: ${target} leaves the repository`);
        continue;
      }
      if (!fs.existsSync(dest)) {
        broken.push(`${doc}: ${target}: no such file`);
        continue;
      }
      if (anchor !== undefined && dest.endsWith('.md') && !anchors(dest).has(anchor)) broken.push(`${doc}: ${target}: no such heading`);
    }
  }
  t.ok(checked > 20, `links were found (${checked})`);
  t.same(broken, [], 'every link resolves');
});
