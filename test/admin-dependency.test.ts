import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import Redis from 'ioredis';
import { LOCAL_DATABASE } from '../src/orders/mysql';
import { describeFailure, failedDependency } from '../src/services/failed-dependency';
import { mariadbSocket } from '../src/services/mariadb-server';
import { spawnServer, type ServerProcess } from './helpers/process';
import { tempDir } from './helpers/services';

const ADMIN = 'dependency-admin-token';

function pidIn(dataDir: string, file: string): number {
  return Number.parseInt(fs.readFileSync(path.join(dataDir, file), 'utf8'), 10);
}

async function put(server: ServerProcess, id: string): Promise<{ status: number; body: { c?: number; error?: string } }> {
  const res = await fetch(`${server.base}/admin/events/${id}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ stock: 5, start: Date.now() + 3_600_000, end: Date.now() + 7_200_000 }),
  });
  return { status: res.status, body: (await res.json()) as { c?: number; error?: string } };
}

/**
 * A PUT writes MySQL and Redis; when one of them fails, the 503 says which.
 * Before, a PUT during a MySQL stall answered "Redis unreachable".
 */
t.test('admin PUT: a stalled mariadbd is named MySQL, a stalled redis-server Redis', async (t) => {
  const dataDir = tempDir(t);
  const server = await spawnServer(t, {
    SECKILL_DATA_DIR: dataDir,
    REDIS_URL: '',
    MYSQL_URL: '',
    SECKILL_WORKERS: '1',
    SECKILL_JWT_SECRET: 'dependency-secret-0123456789',
    SECKILL_ADMIN_TOKEN: ADMIN,
  });
  const mariadbd = pidIn(dataDir, 'mariadb/mysqld.pid');
  const redisServer = pidIn(dataDir, 'redis/redis.pid');
  // Whatever the test stops is let go again, even if it fails half-way.
  t.teardown(() => {
    for (const pid of [mariadbd, redisServer]) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
  });
  t.equal((await put(server, 'before')).status, 201, 'a PUT with both up');

  // The server's idle pool connections are closed first, so its next query opens one,
  // and the handshake a stopped mariadbd never answers fails at the pool's connect timeout.
  const db = await mysql.createConnection({ socketPath: mariadbSocket(dataDir), user: 'root', database: LOCAL_DATABASE });
  const [idle] = await db.query<RowDataPacket[]>("SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND = 'Sleep'");
  for (const row of idle) await db.query(`KILL ${Number(row.ID)}`);
  await db.end();
  await new Promise((r) => setTimeout(r, 200));

  process.kill(mariadbd, 'SIGSTOP');
  const stalled = await put(server, 'mysql-stalled');
  process.kill(mariadbd, 'SIGCONT');
  t.equal(stalled.status, 503);
  t.equal(stalled.body.c, 10, 'code 10, unavailable');
  t.match(stalled.body.error, /^MySQL unavailable/, `the error names MySQL: "${stalled.body.error}"`);
  t.notMatch(stalled.body.error, /Redis/);
  t.equal((await put(server, 'mysql-back')).status, 201, 'MySQL back: the next PUT works');

  process.kill(redisServer, 'SIGSTOP');
  const redisStalled = await put(server, 'redis-stalled');
  process.kill(redisServer, 'SIGCONT');
  t.equal(redisStalled.status, 503);
  t.equal(redisStalled.body.c, 10);
  t.match(redisStalled.body.error, /^Redis unavailable/, `the error names Redis: "${redisStalled.body.error}"`);
});

t.test('failedDependency knows the errors the two clients give', async (t) => {
  const dir = tempDir(t);
  const closed = mysql.createPool({ socketPath: path.join(dir, 'none.sock'), user: 'root' });
  await closed.end();
  const poolClosed = await closed.getConnection().catch((err: unknown) => err);
  t.equal(failedDependency(poolClosed), 'MySQL', 'a closed pool');
  t.equal(describeFailure(poolClosed), 'MySQL unavailable: Pool is closed.');
  const refused = await mysql.createConnection({ socketPath: path.join(dir, 'none.sock'), user: 'root' }).catch((err: unknown) => err);
  t.equal(failedDependency(refused), 'MySQL', `no mariadbd: ${(refused as Error).message}`);

  const offline = new Redis({ path: path.join(dir, 'none.sock'), lazyConnect: true, enableOfflineQueue: false });
  t.teardown(() => offline.disconnect());
  const notWritable = await offline.get('k').catch((err: unknown) => err);
  t.equal(failedDependency(notWritable), 'Redis', `no redis-server: ${(notWritable as Error).message}`);
  t.equal(failedDependency(Object.assign(new Error('OOM command not allowed'), { command: { name: 'evalsha', args: [] } })), 'Redis', 'a reply error');

  t.equal(failedDependency(new Error('something else')), undefined);
  t.equal(describeFailure(new Error('something else')), 'unavailable: something else');
});
