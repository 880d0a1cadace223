import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Committed results: written only by a run with `--save`. */
export const RESULTS_DIR = path.resolve(__dirname, '..', '..', 'bench', 'results');
/** Every run's results (gitignored): a run never rewrites a tracked file. */
export const OUT_DIR = path.resolve(__dirname, '..', '..', 'bench', 'out');
export const SAVE = process.argv.includes('--save');

/** What ran the bench: enough to compare runs across machines. */
export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    packages: versions(),
  };
}

/** The versions this run used: the project's dependencies as installed. */
function versions(): Record<string, string> {
  const root = path.resolve(__dirname, '..', '..');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const out: Record<string, string> = {};
  for (const name of [...Object.keys(pkg.dependencies), 'autocannon', 'fastify']) {
    try {
      const installed = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { name: string; version: string };
      out[name] = name === installed.name ? installed.version : `${installed.name}@${installed.version}`;
    } catch {
      out[name] = pkg.dependencies[name] ?? pkg.devDependencies[name] ?? 'unknown';
    }
  }
  return out;
}

/**
 * Writes bench/out/<file> (untracked); with `--save`, bench/results/<file>
 * too (committed). Returns the paths written.
 */
export function writeFile(file: string, content: string): string[] {
  const written: string[] = [];
  for (const dir of SAVE ? [OUT_DIR, RESULTS_DIR] : [OUT_DIR]) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
    written.push(path.relative(process.cwd(), path.join(dir, file)));
  }
  return written;
}

/** Writes <name>.json and <name>.md (see writeFile) and says where. */
export function writeResult(name: string, json: unknown, markdown: string): void {
  const written = [...writeFile(`${name}.json`, JSON.stringify(json, null, 2) + '\n'), ...writeFile(`${name}.md`, markdown + '\n')];
  process.stdout.write(`results: ${written.join(', ')}${SAVE ? '' : ' (add --save to update the committed ones in bench/results/)'}\n`);
}
