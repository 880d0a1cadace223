import fs from 'node:fs';
import path from 'node:path';

/** One file of the dashboard page, read once at start and served from memory. */
export interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

const FILES: Readonly<Record<string, string>> = Object.freeze({
  'index.html': 'text/html; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
});

/**
 * The page's folder: beside this module when run from source (tests), or
 * src/dashboard/page above the compiled dist/src/dashboard (npm start, the
 * container copies it there). The page is plain files, no build step.
 */
function findPageDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    for (const candidate of [path.join(dir, 'page'), path.join(dir, 'src', 'dashboard', 'page')]) {
      if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
    }
    if (path.dirname(dir) === dir) throw new Error(`dashboard page (src/dashboard/page) not found above ${__dirname}`);
  }
}

/** Every asset by file name. Throws at start when one is missing: a server without its page is a packaging error. */
export function loadAssets(dir: string = findPageDir()): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) assets.set(name, { body: fs.readFileSync(path.join(dir, name)), type });
  return assets;
}
