#!/usr/bin/env node
'use strict';
// The `seckill` command of a checkout (`npx seckill …`). The command itself is
// compiled to dist/, which `npm ci` does not build: without it this says what
// to run, rather than fail on a missing file; with an older build it says so.
const fs = require('node:fs');
const path = require('node:path');
const { staleBecause } = require('../scripts/dist-state');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'src', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write('seckill: not built yet: run `npm run build` (or `npm start`, which builds first) in ' + root + '\n');
  process.exit(1);
}
const why = staleBecause(root);
if (why !== undefined) process.stderr.write(`seckill: running an older build (${why}): npm run build\n`);
require(cli).runCli();
