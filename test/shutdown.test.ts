import t from 'tap';
import type { RowDataPacket } from 'mysql2/promise';
import { connectMysql } from '../src/orders/mysql';
import { ADMIN, putEvent, SECRET, token } from './helpers/app';
import { spawnServer } from './helpers/process';
import { buyRequest, connect, exchangeOn } from './helpers/raw';
import { tempDir, testMysql, testRedis } from './helpers/services';

t.test('SIGTERM mid-sale: every client gets an answer, every win is in MySQL, exit 0', async (t) => {
  const redis = await testRedis(t);
  const db = await testMysql(t);
  const env = {
    SECKILL_DATA_DIR: tempDir(t),
    SECKILL_JWT_SECRET: SECRET,
    SECKILL_ADMIN_TOKEN: ADMIN,
    REDIS_URL: redis.socket,
    MYSQL_URL: db.url,
    // Slow enough that many requests are parked when the signal comes.
    SECKILL_QUEUE_RATE: '400',
    SECKILL_QUEUE_BURST: '50',
    SECKILL_QUEUE_TIMEOUT_MS: '5000',
  };
  const s = await spawnServer(t, env);
  t.equal((await putEvent(s.base, 'stop', { stock: 300 })).status, 201);

  // Every client is connected before the signal; the requests go out together.
  const sockets = await Promise.all(Array.from({ length: 600 }, () => connect(s.port)));
  const answers = sockets.map((sock, i) =>
    exchangeOn(sock, buyRequest('stop', token(`s${i}`))).then((raw) => ({ user: `s${i}`, raw: raw.toString() })),
  );
  const first = await Promise.race(answers);
  t.ok(first.raw.startsWith('HTTP/1.1'), 'the sale is answering');
  s.child.kill('SIGTERM');
  const all = await Promise.all(answers);
  const parsed = all.map(({ user, raw }) => ({ user, ok: /^HTTP\/1\.1 \d{3}/.test(raw), body: raw.slice(raw.indexOf('\r\n\r\n') + 4) }));
  t.ok(parsed.every((p) => p.ok), 'every one of the 600 clients got a whole HTTP answer');
  const codes = parsed.map((p) => (JSON.parse(p.body) as { c: number }).c);
  t.ok(codes.every((c) => [0, 1, 2, 10].includes(c)), 'decided, or told unavailable during shutdown');
  t.equal(await s.exited, 0, 'exit 0');
  const winners = parsed.filter((p) => (JSON.parse(p.body) as { c: number }).c === 0).map((p) => p.user);
  t.ok(winners.length > 0, `${winners.length} won before and during the shutdown`);

  const pool = await connectMysql({ socket: db.socket });
  t.teardown(() => pool.end());
  const [rows] = await pool.query<RowDataPacket[]>('SELECT user_id FROM orders WHERE event_id = ?', ['stop']);
  const stored = new Set(rows.map((r) => String(r.user_id)));
  t.ok(winners.every((u) => stored.has(u)), 'every win was flushed to MySQL before exit');
  t.equal(stored.size, winners.length, 'and nothing else');
});

t.test('SIGTERM under keep-alive load: every request the server received is answered; no connection is reset', async (t) => {
  const redis = await testRedis(t);
  const s = await spawnServer(t, { SECKILL_DATA_DIR: tempDir(t), SECKILL_JWT_SECRET: SECRET, SECKILL_ADMIN_TOKEN: ADMIN, REDIS_URL: redis.socket, MYSQL_URL: 'none' });
  t.equal((await putEvent(s.base, 'ka', { stock: 1_000_000 })).status, 201);
  let answered = 0;
  let closing = 0;
  let signalled = false;
  const resets: string[] = [];
  const client = async (n: number): Promise<void> => {
    for (let i = 0; ; i++) {
      try {
        const res = await fetch(`${s.base}/events/ka/buy`, { method: 'POST', headers: { authorization: `Bearer ${token(`k${n}-${i}`)}` } });
        await res.arrayBuffer();
        answered++;
        if (res.headers.get('connection') === 'close') closing++;
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        // A new connection refused: the server had stopped listening, and never saw this request.
        if (cause?.code === 'ECONNREFUSED') return;
        resets.push(`${cause?.code ?? ''} ${cause?.message ?? String(err)}`);
        if (resets.length > 100) return;
      }
      if (answered >= 2000 && !signalled) {
        signalled = true;
        s.child.kill('SIGTERM');
      }
    }
  };
  await Promise.all(Array.from({ length: 30 }, (_, n) => client(n)));
  t.ok(signalled, `SIGTERM sent after ${answered} answers`);
  t.same(resets, [], 'no request was reset or left without an answer');
  t.ok(closing > 0, `${closing} answers after the signal told their client to close the connection`);
  t.equal(await s.exited, 0);
});
