import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import Redis from 'ioredis';
import { mintToken } from '../src/auth/jwt';
import { serializeError } from '../src/log';
import { RepeatedLog } from '../src/log-repeat';
import { spawnServer } from './helpers/process';
import { tempDir } from './helpers/services';

const SECRET = 'log-flood-secret-0123456789';
const ADMIN = 'log-flood-admin';

/**
 * A Redis that fails every script (over maxmemory, its script cache
 * flushed, as after a shard restart): each buy batch's EVALSHA gets
 * NOSCRIPT, ioredis sends EVAL with the whole Lua source and the batch's
 * users, and that fails too. The error carries that command. Before this,
 * the server wrote one warning per batch with all of it.
 */
t.test('a Redis failing every buy batch: one warning and a count of repeats, no Lua source, no user ids', async (t) => {
  const dataDir = tempDir(t);
  const server = await spawnServer(t, {
    SECKILL_DATA_DIR: dataDir,
    REDIS_URL: '',
    MYSQL_URL: 'none',
    SECKILL_WORKERS: '1',
    SECKILL_JWT_SECRET: SECRET,
    SECKILL_ADMIN_TOKEN: ADMIN,
    SECKILL_LOG_FORMAT: 'json',
  });
  const put = await fetch(`${server.base}/admin/events/flood`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ stock: 10_000, start: Date.now() - 1000, end: Date.now() + 3_600_000, payWithin: 60 }),
  });
  t.equal(put.status, 201);

  const redis = new Redis({ path: path.join(dataDir, 'redis', 'redis.sock') });
  t.teardown(() => redis.disconnect());
  await redis.script('FLUSH');
  await redis.config('SET', 'maxmemory', '1');
  t.teardown(() => redis.config('SET', 'maxmemory', '0').catch(() => undefined));
  const before = server.output().length;

  const users: string[] = [];
  // Waves of 100 until 600 answers: a count, not a time (a loaded machine answers fewer in a given time).
  let answers = 0;
  for (let wave = 0; answers < 600; wave++) {
    const batch = Array.from({ length: 100 }, (_, i) => `flood-user-${wave}-${i}`);
    users.push(...batch);
    await Promise.all(
      batch.map(async (u) => {
        const res = await fetch(`${server.base}/events/flood/buy`, { method: 'POST', headers: { authorization: `Bearer ${mintToken(SECRET, u, 60_000)}` } });
        await res.arrayBuffer();
        answers++;
      }),
    );
  }
  await redis.config('SET', 'maxmemory', '0');
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0, 'the server stops');

  const out = server.output().slice(before);
  const lines = out.split('\n').filter((l) => l !== '');
  const failed = lines.filter((l) => l.includes('buy script failed'));
  t.equal(answers, 600, 'every buy answered while Redis failed');
  t.ok(failed.length >= 1 && failed.length <= 3, `${failed.length} "buy script failed" lines (at most 3)`);
  t.match(failed[0], /OOM command not allowed/, 'the first says what failed');
  const repeats = failed.slice(1).map((l) => (JSON.parse(l) as { repeats?: number }).repeats ?? 0);
  t.ok(repeats.reduce((a, b) => a + b, 0) >= 5, `the repeats are counted (${repeats.join(', ')})`);
  t.notMatch(out, /redis\.call|rcall|KEYS\[1\]|--\[\[/, 'no Lua source in the log');
  t.notMatch(out, /flood-user-/, 'no user id in the log');
  t.ok(out.length < 20_000, `${out.length} bytes of log for the whole flood`);
});

t.test('RepeatedLog: the first failure at once, repeats counted per window, a quiet window ends it', async (t) => {
  const written: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      written.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ serializers: { err: serializeError } }, sink);
  const site = new RepeatedLog('warn', 'thing failed', 100, logger);
  const boom = Object.assign(new Error('down'), { command: { name: 'eval', args: ['local rcall = redis.call', 'u1', 'u2'] } });
  for (let i = 0; i < 50; i++) site.report({ n: i, err: boom });
  site.report({ err: new Error('other') });
  t.equal(written.length, 2, 'one line per kind of failure');
  t.match(written[0], { msg: 'thing failed', n: 0, err: { message: 'down' } });
  t.notOk('command' in (written[0]?.err as object), 'the command is not logged');
  await new Promise((r) => setTimeout(r, 150));
  t.equal(written.length, 3);
  t.match(written[2], { msg: 'thing failed (repeated)', n: 49, repeats: 49 });
  await new Promise((r) => setTimeout(r, 250));
  t.equal(written.length, 3, 'nothing while quiet');
  site.report({ err: boom });
  t.equal(written.length, 4, 'after a quiet window the next failure is logged at once');
  site.report({ err: boom });
  site.flush();
  t.match(written[4], { msg: 'thing failed (repeated)', repeats: 1 }, 'flush tells what is counted');
  t.equal(written.length, 5);
});
