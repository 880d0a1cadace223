import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { IMAGE } from './build';
import { LIMITS, podman, RUNTIME, type Log } from './podman';

/** Fixed names: a run starts by removing what an interrupted run may have left, and ends by removing them. */
export const NAME = 'seckill-image-test';
export const VOLUME = 'seckill-image-test-data';
/** As in the README and compose.yaml: more than the server's own stop deadline (SECKILL_STOP_TIMEOUT_MS, 30 s). */
export const STOP_SECONDS = 40;

export interface Container {
  readonly base: string;
  /** The exit status of `podman run`, which is the container's. */
  readonly exited: Promise<number>;
  readonly output: () => string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * `podman run` in the foreground, as a child process of the test: a detached
 * (`-d`) container vanished on this machine. --rm, so a stopped one is gone.
 * The secrets go by name (`-e NAME`), their values through podman's
 * environment, so they stay out of the log.
 */
export function startContainer(log: Log, env: Readonly<Record<string, string>>, port: number): Container {
  const args = [
    ...RUNTIME,
    'run',
    '--rm',
    ...LIMITS,
    '--name',
    NAME,
    '-p',
    `127.0.0.1:${port}:8080`,
    '-v',
    `${VOLUME}:/data`,
    ...Object.keys(env).flatMap((k) => ['-e', k]),
    IMAGE,
  ];
  log.write(`$ podman ${args.join(' ')} &`);
  const child = spawn('podman', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  const take = (s: string): void => {
    output += s;
    log.write(s);
  };
  child.stdout.setEncoding('utf8').on('data', take);
  child.stderr.setEncoding('utf8').on('data', take);
  const exited = new Promise<number>((resolve) => {
    child.on('error', (err) => {
      take(`podman: ${err.message}`);
      resolve(127);
    });
    child.on('close', (code) => resolve(code ?? 128));
  });
  return { base: `http://127.0.0.1:${port}`, exited, output: () => output };
}

/** Resolves once /readyz answers 200 through the published port; rejects if the container exits first. */
export async function waitReady(c: Container, timeoutMs: number): Promise<void> {
  let exit: number | undefined;
  void c.exited.then((s) => (exit = s));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exit !== undefined) throw new Error(`the container exited with status ${exit} before it was ready`);
    const status = await fetch(`${c.base}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    // Nothing to await but the server itself: ask again shortly.
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`/readyz did not answer 200 within ${timeoutMs / 1000} s`);
}

/** `podman stop`: SIGTERM to PID 1 (tini), which passes it to the server; SIGKILL only after STOP_SECONDS. */
export async function stopContainer(log: Log, c: Container): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  await podman(log, ['stop', '-t', String(STOP_SECONDS), NAME], (STOP_SECONDS + 20) * 1000);
  const status = await c.exited;
  return { status, ms: Date.now() - started };
}

/** Removes the test's container and volume, whatever state they are in. */
export async function removeAll(log: Log): Promise<void> {
  await podman(log, ['rm', '--force', '--time', '0', '--ignore', NAME]);
  await podman(log, ['volume', 'rm', '--force', VOLUME]);
}

/** The same, synchronously, for an interrupted run. */
export function removeAllSync(): void {
  spawnSync('podman', [...RUNTIME, 'rm', '--force', '--time', '0', '--ignore', NAME], { stdio: 'ignore' });
  spawnSync('podman', [...RUNTIME, 'volume', 'rm', '--force', VOLUME], { stdio: 'ignore' });
}

/** Whether a container of the test's name is still there (running or not). */
export async function leftBehind(log: Log): Promise<boolean> {
  const r = await podman(log, ['ps', '--all', '--quiet', '--filter', `name=^${NAME}$`]);
  return r.stdout.trim() !== '';
}
