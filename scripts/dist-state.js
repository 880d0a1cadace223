'use strict';
// Whether dist/ is the build of the sources as they are now: used by `npm start`
// (scripts/build-if-stale.js) to skip the TypeScript build, and by bin/seckill.js
// to say when it runs an older build. Plain JavaScript: it runs before any build.
const fs = require('node:fs');
const path = require('node:path');

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Why dist/ is not the build of src/ (a source newer than its output, or one
 * not built at all, or a newer tsconfig.json), or undefined when it is. tsc
 * rewrites every output at each build, so an output older than its source
 * means the source changed since.
 */
function staleBecause(root) {
  const tsconfig = mtime(path.join(root, 'tsconfig.json')) ?? 0;
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        const why = walk(file);
        if (why !== undefined) return why;
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const rel = path.relative(root, file);
        const built = mtime(path.join(root, 'dist', rel.replace(/\.ts$/, '.js')));
        if (built === undefined) return `${rel} is not built`;
        if (built < (mtime(file) ?? 0)) return `${rel} changed since the build`;
        if (built < tsconfig) return 'tsconfig.json changed since the build';
      }
    }
    return undefined;
  };
  const src = path.join(root, 'src');
  // No sources (an installed package, an image): the build is all there is.
  return fs.existsSync(src) ? walk(src) : undefined;
}

module.exports = { staleBecause };
