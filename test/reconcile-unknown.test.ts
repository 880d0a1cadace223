import path from 'node:path';
import { Redis } from 'ioredis';
import t from 'tap';
import { ADMIN, putEvent, SECRET } from './helpers/app';
import { cli, spawnServer } from './helpers/process';
import { tempDir } from './helpers/services';

t.test('reconcile: an event in neither Redis nor MySQL is "no such event", not a row of zeros', async (t) => {
  const dataDir = tempDir(t);
  // No refresh within the test: an event deleted from Redis stays deleted while reconcile looks.
  const env = { SECKILL_DATA_DIR: dataDir, SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, SECKILL_EVENT_REFRESH_MS: '3600000' };
  const s = await spawnServer(t, env);
  t.equal((await putEvent(s.base, 'real', { stock: 3 })).status, 201);
  t.equal((await putEvent(s.base, 'lost', { stock: 3 })).status, 201);

  const real = await cli(['reconcile', 'real'], env);
  t.equal(real.code, 0, real.out);
  t.match(real.out, /^real\s+3\s+3\s+0\s.*ok$/m, 'a real event: its row');

  const none = await cli(['reconcile', 'nosuch'], env);
  t.equal(none.code, 1, 'no such event: exit 1');
  t.match(none.out, /reconcile: no such event \\?"nosuch\\?" \(in neither Redis nor MySQL\)/);
  t.notMatch(none.out, /^nosuch\s/m, 'no row for it');
  const mixed = await cli(['reconcile', 'real', 'nosuch', 'other'], env);
  t.equal(mixed.code, 1);
  t.match(mixed.out, /no such event \\?"nosuch\\?", \\?"other\\?"/, 'every unknown id named');
  t.notMatch(mixed.out, /^real\s/m, 'nothing reconciled before the ids are right');

  // Redis lost it, MySQL has it: a mismatch to report, not an unknown id.
  const redis = new Redis({ path: path.join(dataDir, 'redis', 'redis.sock') });
  t.teardown(() => redis.disconnect());
  await redis.del('sk:{lost}:meta', 'sk:{lost}:stock', 'sk:{lost}:seq');
  const lost = await cli(['reconcile', 'lost'], env);
  t.equal(lost.code, 1, lost.out);
  t.match(lost.out, /^lost\s.*MISMATCH$/m);
  t.match(lost.out, /lost: no event meta in Redis/);
});
