import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { startLocalRedis, type LocalRedis } from '../../src/services/redis-server';

/** A fresh data folder (short: unix socket paths must stay under 108 bytes). */
export function tempDir(t: Test, prefix = 'sk-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A redis-server of this test file's own, started by the project's launcher. */
export async function testRedis(t: Test, dir = tempDir(t)): Promise<LocalRedis> {
  const redis = await startLocalRedis(dir);
  t.teardown(() => redis.stop());
  return redis;
}
