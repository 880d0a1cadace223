import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { startLocalRedis, type LocalRedis } from '../../src/services/redis-server';
import { startLocalMariadb, type LocalMariadb } from '../../src/services/mariadb-server';
import { connectMysql, localMysqlUrl } from '../../src/orders/mysql';
import { startLocalCluster, type LocalCluster } from '../../src/services/redis-cluster';

/** A fresh data folder (short: unix socket paths must stay under 108 bytes). */
export function tempDir(t: Test, prefix = 'sk-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A redis-server of this test file's own, started by the project's launcher. */
export async function testRedis(t: Test, dir = tempDir(t)): Promise<LocalRedis> {
  // everysec: these tests are about the sale's logic, and an fsync per batch on a
  // disk shared with the rest of the suite can outlast the 500 ms command timeout.
  // The default (always) is what spawned servers with their own data folder run.
  const redis = await startLocalRedis(dir, 'everysec');
  t.teardown(() => redis.stop());
  return redis;
}

/** A mariadbd of this test file's own, its database and schema made; `url` is its MYSQL_URL. */
export async function testMysql(t: Test, dir = tempDir(t)): Promise<LocalMariadb & { url: string }> {
  const db = await startLocalMariadb(dir);
  t.teardown(() => db.stop());
  const pool = await connectMysql({ socket: db.socket });
  await pool.end();
  return { ...db, url: localMysqlUrl(db.socket) };
}

/** A three-master Redis Cluster of this test file's own on loopback (see src/services/redis-cluster.ts). */
export async function testCluster(t: Test, dir = tempDir(t)): Promise<LocalCluster> {
  const cluster = await startLocalCluster(dir);
  t.teardown(() => cluster.stop());
  return cluster;
}
