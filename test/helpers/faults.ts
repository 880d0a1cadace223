import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { childPids } from '../../bench/servers';
import { isAlive } from '../../src/services/local-service';
import { spawnServer, type ServerProcess } from './process';
import { until } from './wait';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A server on its own data folder (its redis-server and mariadbd) and one
 * port, and the faults a test injects into it: a worker killed, the primary
 * killed and started again on the same data and port, Redis stopped or
 * killed, MariaDB stopped. Every process it ever ran is remembered, so the
 * test can check none is left behind; a server that exits unless told to is
 * reported in `unexpected`.
 *
 * A plan is a list of steps, each `[b<buyers>:]<action>`: the step waits
 * until Redis holds that many buyers, then acts. Actions: `stall<ms>` (Redis
 * stopped that long), `stop` / `cont` (Redis stopped until `cont`), `killw`
 * (a worker; with one process, the server), `killp` (the primary, then a
 * start on the same data), `killr` (redis-server; the server restarts it),
 * `mstop` / `mcont` (mariadbd), `w<ms>` (wait), `bg-<action>` (runs on while
 * the next steps do; the next kill waits for it).
 */
export class FaultyServer {
  /** Every node process seen (primaries, workers) and every service process. */
  readonly pids = new Set<number>();
  /** What was done, when (seconds since the start). */
  readonly done: string[] = [];
  /** Servers that exited by themselves, with their last error lines. */
  readonly unexpected: string[] = [];
  private readonly told = new Set<ServerProcess>();
  private readonly started = Date.now();
  private background: Promise<void> = Promise.resolve();
  private stopped = 0;
  /** Processes stopped with SIGSTOP and not yet continued. */
  private readonly paused = new Set<number>();
  /** Servers started (the first and every restart). */
  starts = 0;

  private constructor(
    private readonly t: Test,
    readonly dir: string,
    private readonly env: Record<string, string>,
    private readonly workers: number,
    public server: ServerProcess,
  ) {}

  static async start(t: Test, dir: string, env: Record<string, string>): Promise<FaultyServer> {
    const f = new FaultyServer(t, dir, env, Number(env.SECKILL_WORKERS ?? 1), undefined as unknown as ServerProcess);
    f.server = await f.spawn();
    return f;
  }

  /** The pid a service's pid file names now (0: none). */
  pidOf(service: 'redis' | 'mariadb'): number {
    const file = service === 'redis' ? 'redis/redis.pid' : 'mariadb/mysqld.pid';
    try {
      return Number.parseInt(fs.readFileSync(path.join(this.dir, file), 'utf8'), 10) || 0;
    } catch {
      return 0;
    }
  }

  /** Runs a plan; `buyers` says how many Redis holds (for the `b<n>:` waits). */
  async run(plan: readonly string[], buyers: () => Promise<number>): Promise<void> {
    for (const step of plan) await this.step(step, buyers);
    await this.background;
  }

  /** Stops the server gracefully; resolves with its exit code. */
  async stop(): Promise<number | string> {
    this.note();
    this.told.add(this.server);
    this.server.child.kill('SIGTERM');
    return this.server.exited;
  }

  /** The processes still alive of all those seen (after `stop`, waits up to 20 s for them to go). */
  async leftBehind(): Promise<number[]> {
    const all = [...this.pids].filter((p) => p > 0);
    await until(() => all.every((p) => !isAlive(p)), 'every process gone', 20_000, 50).catch(() => undefined);
    return all.filter(isAlive);
  }

  private log(what: string): void {
    this.done.push(`${((Date.now() - this.started) / 1000).toFixed(1)}s ${what}`);
    if (process.env.FC_DEBUG) process.stderr.write(`faults: ${this.done.at(-1)}\n`);
  }

  /** Remembers the current processes (the workers change as they are restarted). */
  private note(): void {
    this.pids.add(this.server.child.pid ?? 0);
    for (const w of childPids(this.server.child.pid ?? 0)) this.pids.add(w);
    this.pids.add(this.pidOf('redis'));
    this.pids.add(this.pidOf('mariadb'));
  }

  private async spawn(): Promise<ServerProcess> {
    const server = await spawnServer(this.t, this.env);
    this.starts++;
    void server.exited.then((how) => {
      if (this.told.has(server)) return;
      // Its error lines, and what is not a log line (a crash's stack printed by node).
      const lines = server.output().split('\n');
      const errors = lines.filter((l) => /"level":"(error|fatal)"/.test(l));
      const raw = lines.filter((l) => l.trim() !== '' && !l.startsWith('{'));
      this.unexpected.push(`server ${server.child.pid ?? 0} exited by itself (${how}): ${[...errors.slice(-3), ...raw.slice(-10)].join(' | ')}`);
    });
    if (process.env.FC_DEBUG) this.t.teardown(() => fs.writeFileSync(path.join(os.tmpdir(), `faults-server-${server.child.pid ?? 0}.log`), server.output()));
    // A failing test may leave Redis or MariaDB stopped: let them go on before this server is stopped (teardowns run last first).
    this.t.teardown(() => {
      for (const pid of this.paused) if (isAlive(pid)) process.kill(pid, 'SIGCONT');
    });
    this.server = server;
    this.note();
    return server;
  }

  private async step(action: string, buyers: () => Promise<number>): Promise<void> {
    const at = /^b(\d+):(.*)$/.exec(action);
    if (at) {
      await until(async () => (await buyers()) >= Number(at[1]), `${at[1]} buyers in Redis`, 60_000, 20);
      return this.step(at[2] as string, buyers);
    }
    const ms = Number(/\d+$/.exec(action)?.[0] ?? 0);
    if (action.startsWith('bg-')) {
      this.background = this.step(action.slice(3), buyers).catch((err: Error) => void this.unexpected.push(`${action}: ${err.message}`));
      return;
    }
    if (action.startsWith('kill')) await this.background;
    if (action.startsWith('stall')) return this.stallRedis(ms);
    if (action.startsWith('w')) return sleep(ms);
    if (action === 'killw') return this.workers > 1 ? this.killWorker() : this.restart();
    if (action === 'killp') return this.restart();
    if (action === 'killr') return this.killRedis();
    if (action === 'stop' || action === 'cont') return this.signalRedis(action === 'stop' ? 'SIGSTOP' : 'SIGCONT', '');
    if (action === 'mstop' || action === 'mcont') {
      const [pid, signal] = [this.pidOf('mariadb'), action === 'mstop' ? 'SIGSTOP' : 'SIGCONT'] as const;
      this.log(`${signal} mariadbd ${pid}`);
      return this.pause(pid, signal);
    }
    throw new Error(`unknown fault ${action}`);
  }

  private async stallRedis(ms: number): Promise<void> {
    this.signalRedis('SIGSTOP', ` for ${ms} ms`);
    try {
      await sleep(ms);
    } finally {
      this.signalRedis('SIGCONT');
    }
  }

  /** Stops or continues redis-server (the one stopped last); logged when `note` is given. */
  private signalRedis(signal: 'SIGSTOP' | 'SIGCONT', note?: string): void {
    if (signal === 'SIGSTOP') this.stopped = this.pidOf('redis');
    this.pids.add(this.stopped);
    if (note !== undefined) this.log(`${signal} redis-server ${this.stopped}${note}`);
    this.pause(this.stopped, signal);
  }

  private pause(pid: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (signal === 'SIGSTOP') this.paused.add(pid);
    else this.paused.delete(pid);
    process.kill(pid, signal);
  }

  private killWorker(): void {
    this.note();
    const [victim] = childPids(this.server.child.pid ?? 0);
    if (victim === undefined) return this.log('no worker to kill');
    this.log(`SIGKILL worker ${victim}`);
    process.kill(victim, 'SIGKILL');
  }

  private async killRedis(): Promise<void> {
    const pid = this.pidOf('redis');
    this.log(`SIGKILL redis-server ${pid}`);
    process.kill(pid, 'SIGKILL');
    await until(() => ![0, pid].includes(this.pidOf('redis')), 'redis-server restarted', 30_000, 20);
    this.note();
  }

  /** SIGKILL of the primary (or the one process), then a start on the same data and port (again while it fails: Redis may not answer). */
  private async restart(): Promise<void> {
    this.note();
    this.log(`SIGKILL primary ${this.server.child.pid ?? 0}`);
    this.told.add(this.server);
    this.server.child.kill('SIGKILL');
    await this.server.exited;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.spawn();
        break;
      } catch (err) {
        const message = (err as Error).message;
        this.log(`start ${attempt} failed: ${/"msg":"([^"]*)"[^\n]*\n*$/.exec(message)?.[1] ?? message.split('\n')[0]}`);
        if (attempt >= 5) throw err;
      }
    }
    this.log('started again on the same data and port');
  }
}
