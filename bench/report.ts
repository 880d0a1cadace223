import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const RESULTS_DIR = path.resolve(__dirname, '..', '..', 'bench', 'results');

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

/** Writes bench/results/<name>-latest.{json,md}. */
export function writeResult(name: string, json: unknown, markdown: string): void {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, `${name}-latest.json`), JSON.stringify(json, null, 2) + '\n');
  fs.writeFileSync(path.join(RESULTS_DIR, `${name}-latest.md`), markdown + '\n');
}
