import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { CLI } from './process';

export interface CliRun {
  readonly code: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The last stderr line, parsed when it is a JSON log line (stderr is a pipe here), else `{ level: '', msg: line }`. */
  readonly last: { level: string; msg: string; code?: string; err?: unknown };
}

/**
 * Runs the built CLI with pipes (not a terminal), as a process manager would,
 * and waits for it to end: killed after `limitMs`, so a command that hangs
 * fails its test instead of holding it.
 */
export async function runCli(args: string[], env: Record<string, string>, limitMs = 20_000): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, SECKILL_LOG_FORMAT: '', SECKILL_LOG_LEVEL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  clearTimeout(killer);
  const lines = stderr.trim().split('\n');
  const line = lines[lines.length - 1] ?? '';
  let last: CliRun['last'] = { level: '', msg: line };
  try {
    last = JSON.parse(line) as CliRun['last'];
  } catch {
    // not a log line
  }
  return { code: code ?? signal, stdout, stderr, last };
}

/** The same on a terminal (util-linux `script` gives it one): what a person sees, stdout and stderr together. */
export async function runCliOnTerminal(args: string[], env: Record<string, string>, limitMs = 20_000): Promise<{ code: number; out: string }> {
  const line = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  try {
    const { stdout } = await promisify(execFile)('script', ['-qec', line, '/dev/null'], { env: { ...process.env, ...env }, timeout: limitMs });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, out: e.stdout };
  }
}
