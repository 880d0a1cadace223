import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { DEFAULT_CONFIG, loadConfig } from '../src/config';
import { TokenCache } from '../src/auth/token-cache';

const v = (user: string) => ({ user, expiresMs: Infinity });

t.test('the cache stays within its budget and keeps what is used', async (t) => {
  const one = TokenCache.cost('t00', 'u00');
  const c = new TokenCache(one * 4);
  for (let i = 0; i < 100; i++) c.set(`t${String(i).padStart(2, '0')}`, v(`u${String(i).padStart(2, '0')}`));
  t.ok(c.bytes <= c.budgetBytes, `never over the budget (${c.bytes} of ${c.budgetBytes})`);
  t.ok(c.count <= 4, `four entries fit (${c.count})`);
  t.equal(c.get('t99')?.user, 'u99', 'the newest is there');
  t.equal(c.get('t00'), undefined, 'the oldest is gone');
  c.set('hot', v('hot'));
  for (let i = 0; i < 20; i++) {
    t.equal(c.get('hot')?.user, 'hot', `hot token still cached after ${i} more`);
    c.set(`n${String(i).padStart(2, '0')}`, v('xxx'));
    t.ok(c.bytes <= c.budgetBytes, 'within budget');
  }
  const none = TokenCache.ofMiB(0);
  none.set('t', v('u'));
  t.equal(none.get('t'), undefined, '0 MiB: no cache');
  c.set('again', v('a'));
  c.set('again', v('b'));
  t.equal(c.get('again')?.user, 'b', 'setting a cached token again replaces it');
  t.ok(c.bytes <= c.budgetBytes, 'and does not count it twice');
});

t.test('a crowd that fits cycles in order without a miss after the first round', async (t) => {
  const users = 5_000;
  const c = new TokenCache(TokenCache.cost('token-0000', 'user-0000') * users);
  let misses = 0;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < users; i++) {
      const token = `token-${String(i).padStart(4, '0')}`;
      if (c.get(token) === undefined) {
        misses++;
        c.set(token, v(`user-${String(i).padStart(4, '0')}`));
      }
    }
  }
  t.equal(misses, users, 'only the first round misses');
});

t.test('the estimate does not undercount the heap a cached token holds', async (t) => {
  // In a child with --expose-gc, on the built module: as the server sees a token (a fresh header
  // string, the token sliced from it, the user parsed from the payload), at sizes just past a Map
  // capacity doubling, where the overhead per entry is largest.
  const script = `
    const { TokenCache } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'src', 'auth', 'token-cache.js'))});
    const { createSigner } = require('fast-jwt');
    const sign = createSigner({ key: 'k' });
    const out = [];
    for (const n of [Number(process.argv[1])]) {
      const tokens = Array.from({ length: n }, (_, i) => sign({ sub: 'user' + i }));
      gc();
      const before = process.memoryUsage().heapUsed;
      const c = new TokenCache(2 ** 40);
      for (const tok of tokens) {
        const header = Buffer.from('Bearer ' + tok).toString('latin1');
        const token = header.slice(7);
        const sub = JSON.parse(Buffer.from(token.split('.')[1], 'base64').toString()).sub;
        c.set(token, { user: sub, expiresMs: Infinity });
      }
      gc();
      const grown = process.memoryUsage().heapUsed - before;
      out.push({ n: tokens.length, grown, estimated: c.bytes }); // tokens stays alive until here, so it is not counted as freed
    }
    process.stdout.write(JSON.stringify(out));`;
  for (const size of [140_000, 270_000]) {
    const res = spawnSync(process.execPath, ['--expose-gc', '-e', script, String(size)], { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
    t.equal(res.status, 0, res.stderr);
    for (const { n, grown, estimated } of JSON.parse(res.stdout) as { n: number; grown: number; estimated: number }[]) {
      t.ok(grown <= estimated * 1.02, `${n} tokens: heap grew ${Math.round(grown / n)} B per token, estimated ${Math.round(estimated / n)}`);
    }
  }
});

t.test('SECKILL_JWT_CACHE_MB sizes it; the old count variable is refused by name', async (t) => {
  t.equal(DEFAULT_CONFIG.jwtCacheSize, 448);
  // The default must hold 1,000,000 users' tokens of the bench's shape (124 characters, a 10-character sub).
  t.ok((DEFAULT_CONFIG.jwtCacheSize * 2 ** 20) / TokenCache.cost('x'.repeat(124), 'user999999') >= 1_000_000, 'the default holds a million tokens');
  t.equal(loadConfig({ SECKILL_JWT_CACHE_MB: '64' }).jwtCacheSize, 64);
  t.equal(loadConfig({}, ['--jwt-cache-mb', '0']).jwtCacheSize, 0);
  t.throws(() => loadConfig({ SECKILL_JWT_CACHE_MB: '-1' }), /SECKILL_JWT_CACHE_MB/);
  t.throws(() => loadConfig({ SECKILL_JWT_CACHE_MB: '70000' }), /SECKILL_JWT_CACHE_MB must be between 0 and 65536/);
  t.throws(() => loadConfig({ SECKILL_JWT_CACHE_SIZE: '100000' }), /SECKILL_JWT_CACHE_SIZE is gone.*SECKILL_JWT_CACHE_MB/);
});
