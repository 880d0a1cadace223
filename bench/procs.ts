import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';

export interface Proc {
  readonly child: ChildProcess;
  readonly port: number;
  stop(): Promise<void>;
}

/** The server's pino line `{…,"port":N,…,"msg":"listening"}`, whatever the field order. */
export const LISTENING = /^(?=.*"msg":"listening")(?=.*"port":(\d+)).*$/m;

/**
 * Collects a child's stdout and stderr (output() keeps growing after the
 * port is known) and resolves `port` with the number `portLine` captures;
 * rejects when the child exits first. The bench and the tests both use it.
 */
export function watchForPort(child: ChildProcess, exited: Promise<unknown>, portLine: RegExp): { port: Promise<number>; output(): string } {
  let out = '';
  const port = new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = portLine.exec(out);
      if (m) resolve(Number(m[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`${child.spawnargs.join(' ')} exited (${String(child.exitCode ?? child.signalCode)}) before listening:\n${out}`)));
  });
  return { port, output: () => out };
}

/**
 * Starts a node process and waits for the line that gives its port. `netns`:
 * run it inside that network namespace (`ip netns exec` execs node, so the
 * pid is node's).
 */
export async function startProc(args: string[], env: Record<string, string>, portLine: RegExp, netns?: string): Promise<Proc> {
  const [cmd, argv] = netns === undefined ? [process.execPath, args] : ['ip', ['netns', 'exec', netns, process.execPath, ...args]];
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  const port = await watchForPort(child, exited, portLine).port;
  return {
    child,
    port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU seconds used so far and peak RSS (MiB) of a process, from /proc. */
export function procUsage(pid: number): { cpuS: number; peakRssMiB: number } {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return { cpuS: ticks / 100, peakRssMiB: Math.round(Number(hwm?.[1] ?? 0) / 1024) };
  } catch {
    return { cpuS: 0, peakRssMiB: 0 };
  }
}

/** CPU seconds of each process so far (0 for one that is gone). */
export function cpuOf(pids: readonly { readonly name: string; readonly pid: number }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { name, pid } of pids) out[name] = (out[name] ?? 0) + procUsage(pid).cpuS;
  return out;
}
