import t from 'tap';
import { isAlive } from '../src/services/local-service';
import { ADMIN, buy, count, putEvent, SECRET } from './helpers/app';
import { spawnServer } from './helpers/process';
import { tempDir } from './helpers/services';
import fs from 'node:fs';
import path from 'node:path';

t.test('server restarts mid-sale (graceful, then killed): stock and buyers survive, the sale continues exactly', async (t) => {
  const dataDir = tempDir(t);
  const env = { SECKILL_DATA_DIR: dataDir, SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN };
  const buyers = (from: number, n: number) => Array.from({ length: n }, (_, i) => `buyer${from + i}`);

  const a = await spawnServer(t, env);
  t.equal((await putEvent(a.base, 'longsale', { stock: 30 })).status, 201);
  const first = await Promise.all(buyers(0, 10).map((u) => buy(a.base, 'longsale', u)));
  t.equal(count(first, (x) => x.c === 0), 10, 'ten sold before the first restart');
  a.child.kill('SIGTERM');
  t.equal(await a.exited, 0, 'SIGTERM: clean exit');

  const b = await spawnServer(t, env);
  t.equal((await putEvent(b.base, 'longsale', { stock: 30 })).status, 409, 're-putting a changed definition of a running sale is refused');
  t.same(await buy(b.base, 'longsale', 'buyer3'), { status: 200, c: 2, o: first[3]!.o }, 'a winner is remembered');
  const second = await Promise.all(buyers(10, 10).map((u) => buy(b.base, 'longsale', u)));
  t.equal(count(second, (x) => x.c === 0), 10, 'ten more sold after it');
  b.child.kill('SIGKILL');
  t.equal(await b.exited, 'SIGKILL');
  const redisPid = Number(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8'));
  t.ok(isAlive(redisPid), 'its redis-server outlived it');

  const c = await spawnServer(t, env);
  const third = await Promise.all(buyers(20, 20).map((u) => buy(c.base, 'longsale', u)));
  t.equal(count(third, (x) => x.c === 0), 10, 'exactly the last ten units sold');
  t.equal(count(third, (x) => x.c === 1), 10, 'then sold out');
  const orders = [...first, ...second, ...third].filter((x) => x.c === 0).map((x) => x.o).sort((x, y) => x! - y!);
  t.same(orders, Array.from({ length: 30 }, (_, i) => i + 1), 'order numbers 1..30, each once, across three processes');
  const stats = (await (await fetch(`${c.base}/admin/events/longsale`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as Record<string, number>;
  t.match(stats, { remaining: 0, sold: 30, buyers: 30 });

  c.child.kill('SIGTERM');
  t.equal(await c.exited, 0);
  t.notOk(isAlive(redisPid), 'the adopted redis-server was stopped with it');
});
