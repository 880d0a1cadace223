import { spawn } from 'node:child_process';
import fs from 'node:fs';

/**
 * Running podman (and the few other commands the image test needs) with its
 * output kept in one log file, shown when a step fails.
 *
 * Every podman call runs with runc: crun refuses the hybrid cgroups of some
 * machines (this one's among them). Containers keep the open-file and process
 * limits at 1024: runc's defaults would raise them, which some machines
 * forbid ("error setting rlimit type 7: operation not permitted").
 */
export const RUNTIME = ['--runtime', 'runc'];
export const LIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

export interface Result {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class Log {
  constructor(readonly file: string) {}

  write(text: string): void {
    fs.appendFileSync(this.file, text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The last lines, to show under a failed step. */
  tail(lines = 25): string {
    const all = fs.existsSync(this.file) ? fs.readFileSync(this.file, 'utf8').trimEnd().split('\n') : [];
    return all.slice(-lines).join('\n');
  }
}

/** Runs a command to its end without blocking the event loop; a timeout kills it and counts as a failure. */
export function run(log: Log, command: string, args: readonly string[], timeoutMs = 120_000): Promise<Result> {
  log.write(`$ ${command} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      log.write(s);
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      log.write(s);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') log.write(`(${command} killed after ${timeoutMs / 1000} s)`);
      resolve({ status: code ?? 128, stdout, stderr });
    });
  });
}

export function podman(log: Log, args: readonly string[], timeoutMs?: number): Promise<Result> {
  return run(log, 'podman', [...RUNTIME, ...args], timeoutMs);
}

/**
 * The last line of stderr worth quoting in a one-line reason. Without systemd,
 * podman logs an error about the timers of health checks at every start and
 * stop of a container; `podman healthcheck run` works all the same.
 */
export function reason(r: Result): string {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/level=(warning|info)|systemd connection/.test(l));
  return (lines.at(-1) ?? `exit status ${r.status}`).trim();
}

/** podman, and a failure unless it exits 0; its stdout, trimmed. */
export async function podmanOk(log: Log, args: readonly string[], timeoutMs?: number): Promise<string> {
  const r = await podman(log, args, timeoutMs);
  if (r.status !== 0) throw new Error(`podman ${args[0] ?? ''} failed: ${reason(r)}`);
  return r.stdout.trim();
}
