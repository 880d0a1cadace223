import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { dataDirLockFile } from '../../src/services/data-dir-lock';
import { isAlive } from '../../src/services/local-service';
import { stopLocalServices } from '../../src/services/stop-local';
import type { Test } from 'tap';
import { LISTENING, watchForPort } from '../../bench/procs';

export const CLI = path.join(__dirname, '..', '..', 'dist', 'src', 'cli.js');

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly base: string;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  output(): string;
}

/**
 * Runs the built server (`npm test` builds first), or another command that
 * execs it, and waits for its "listening" line.
 */
export async function spawnServer(
  t: Test,
  env: Record<string, string>,
  args: string[] = ['serve'],
  command: [string, ...string[]] = [process.execPath, CLI],
): Promise<ServerProcess> {
  const [bin, ...pre] = command;
  const child = spawn(bin, [...pre, ...args], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    if (env.SECKILL_DATA_DIR !== undefined) await stopOrphans(env.SECKILL_DATA_DIR);
  });
  const { port: listening, output } = watchForPort(child, exited, LISTENING);
  const port = await listening;
  return { child, port, base: `http://127.0.0.1:${port}`, exited, output };
}

/**
 * A server the test killed with SIGKILL leaves its redis-server and mariadbd
 * running (by design: the next server on that folder adopts them). When no
 * live server owns the folder any more, stop what its pid files name, so a
 * test leaves no process behind (its folder is deleted next).
 */
async function stopOrphans(dataDir: string): Promise<void> {
  let owner = 0;
  try {
    // "<pid> <start time>"
    owner = Number.parseInt(fs.readFileSync(dataDirLockFile(dataDir), 'utf8'), 10) || 0;
  } catch {
    // no lock: no owner
  }
  if (owner > 0 && isAlive(owner)) return;
  await stopLocalServices(dataDir, undefined, 5_000);
}

/** Runs a CLI command to the end; resolves with its exit code and output (stdout and stderr together). */
export async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  return { code, out };
}

/**
 * SIGSTOPs a process and resolves once the kernel shows it stopped (state T
 * in /proc): the signal is delivered asynchronously, and on a loaded machine
 * a thread already running can still answer a request meanwhile.
 */
export async function freeze(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  const deadline = Date.now() + 5_000;
  for (;;) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": the state follows the last ')'.
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T') return;
    if (Date.now() > deadline) throw new Error(`process ${pid} not stopped 5 s after SIGSTOP`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
