#!/usr/bin/env node
'use strict';
// `npm start`'s first step: the TypeScript build, only when dist/ is not the build of src/ as it is now
// (a clean checkout, or a source changed since). A current dist/ starts the server at once.
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { staleBecause } = require('./dist-state');

// The project's root; a test passes another.
const root = process.argv[2] === undefined ? path.join(__dirname, '..') : path.resolve(process.argv[2]);
const why = staleBecause(root);
if (why !== undefined) {
  process.stderr.write(`building: ${why}\n`);
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [root, __dirname] });
  } catch {
    process.stderr.write('seckill: cannot build: TypeScript is not installed (npm ci installs it)\n');
    process.exit(1);
  }
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
  process.exit(r.status ?? 1);
}
