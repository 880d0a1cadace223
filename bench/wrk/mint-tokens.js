#!/usr/bin/env node
// Writes N buyer tokens (users user0..userN-1), one per line, for bench/wrk/buy.lua.
//   SECKILL_JWT_SECRET=... node bench/wrk/mint-tokens.js 10000 > tokens.txt
// Without SECKILL_JWT_SECRET it uses the demo secret in SECKILL_DATA_DIR (./.data).
const { createSigner } = require('fast-jwt');
const fs = require('node:fs');
const path = require('node:path');
const n = Number(process.argv[2] ?? 1000);
let secret = process.env.SECKILL_JWT_SECRET;
if (!secret) {
  const file = path.join(process.env.SECKILL_DATA_DIR ?? '.data', 'dev-secrets.json');
  secret = JSON.parse(fs.readFileSync(file, 'utf8')).jwtSecret;
}
const sign = createSigner({ key: secret });
const out = [];
for (let i = 0; i < n; i++) out.push(sign({ sub: `user${i}` }));
process.stdout.write(out.join('\n') + '\n');
