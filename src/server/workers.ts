import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { log } from '../log';
import type { ServiceHealth } from '../services/local-service';
import { unexpectedMessage, type ToPrimary, type ToWorker, type WorkerStart } from './messages';

const RESTART_MIN_MS = 200;
const RESTART_MAX_MS = 5_000;
/** A worker that ran this long before dying restarts after the shortest wait again. */
const RESTART_RESET_MS = 10_000;
/** Every worker is pinged this often... */
const PING_EVERY_MS = 1_000;
/** ...and one that has answered none for this long (its event loop stuck, or the process stopped) is killed, then restarted. */
export const WORKER_HANG_MS = 10_000;

/** A port the kernel says is free on `host` now (workers share a given port: SO_REUSEPORT is set only on one). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** The compiled worker entry (tests run the sources, so look for dist/ from there too). */
function workerEntry(): string {
  const here = path.join(__dirname, 'worker.js');
  if (fs.existsSync(here)) return here;
  const dist = path.resolve(__dirname, '..', '..', 'dist', 'src', 'server', 'worker.js');
  if (fs.existsSync(dist)) return dist;
  throw new Error(`worker entry not found (${here}, ${dist}): run npm run build`);
}

/** One worker process: its child, whether it listens, and when it started. */
interface Slot {
  readonly index: number;
  child: ChildProcess;
  listening: boolean;
  startedAt: number;
  exited: Promise<void>;
  /** The wait before the last restart (0: none yet); doubles while the worker keeps dying young. */
  wait: number;
  /** A restart waiting for its time (cleared at close). */
  timer: NodeJS.Timeout | undefined;
  /** When the current child last answered a ping (its spawn time until then). */
  lastPong: number;
  /** Why the current child could not start, as it said before exiting. */
  failure: string | undefined;
}

/**
 * The primary's worker processes: each a complete front on the shared port
 * (src/server/worker.ts). The supervisor starts them one by one, restarts
 * one that dies (with a backoff that grows while it keeps dying), counts the
 * restarts and tells every worker the count, and at shutdown tells each to
 * stop and waits (bounded), then kills what is left.
 */
export class WorkerSupervisor {
  private readonly slots: Slot[] = [];
  private closing = false;
  /** All started once: from then on a worker that dies is restarted (before, the start fails). */
  private running = false;
  /** Workers restarted since the server started. */
  restarts = 0;

  private servicesTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private servicesSent = '';

  constructor(
    private readonly startOf: (index: number) => Omit<WorkerStart, 'index' | 'restarts' | 'services'>,
    /** The local services' health, which each worker's /healthz reports. */
    private readonly services: () => Record<string, ServiceHealth>,
  ) {}

  /** Starts `count` workers, one after the other; resolves with the port they share. */
  async start(count: number): Promise<number> {
    let port = 0;
    for (let i = 0; i < count; i++) {
      const slot = this.spawn(i);
      this.slots[i] = slot;
      port = await this.listening(slot);
    }
    this.running = true;
    // Each worker's /healthz reports the services this process supervises: sent when they change.
    this.servicesTimer = setInterval(() => {
      const health = this.services();
      const text = JSON.stringify(health);
      if (text === this.servicesSent) return;
      this.servicesSent = text;
      for (const s of this.slots) this.send(s, { t: 'services', health });
    }, 1_000);
    this.servicesTimer.unref();
    // The kernel keeps sending a stuck worker its share of new connections: one that stops answering is killed (and so restarted).
    let lastTick = Date.now();
    this.pingTimer = setInterval(() => {
      const now = Date.now();
      // This process was stalled itself: the workers' answers may be waiting unread behind this timer. Count from now.
      if (now - lastTick > PING_EVERY_MS * 3) for (const s of this.slots) s.lastPong = now;
      lastTick = now;
      for (const s of this.slots) {
        const { child } = s;
        if (child.exitCode !== null || child.signalCode !== null) continue;
        if (now - s.lastPong > WORKER_HANG_MS) {
          log.error({ worker: s.index, pid: child.pid, silentMs: now - s.lastPong }, 'worker not answering: killing it');
          child.kill('SIGKILL');
          continue;
        }
        this.send(s, { t: 'ping' });
      }
    }, PING_EVERY_MS);
    this.pingTimer.unref();
    return port;
  }

  /** Workers listening now. */
  get ready(): number {
    return this.slots.filter((s) => s.listening).length;
  }

  /** The worker pids, by index (for logs and tests). */
  get pids(): number[] {
    return this.slots.map((s) => s.child.pid ?? 0);
  }

  private spawn(index: number, previous?: Slot): Slot {
    const start: WorkerStart = { ...this.startOf(index), index, restarts: this.restarts, services: this.services() };
    const child = fork(workerEntry(), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, SECKILL_WORKER: JSON.stringify(start) },
    });
    const slot: Slot = previous ?? { index, child, listening: false, startedAt: Date.now(), exited: Promise.resolve(), wait: 0, timer: undefined, lastPong: Date.now(), failure: undefined };
    slot.child = child;
    slot.failure = undefined;
    slot.listening = false;
    slot.startedAt = Date.now();
    slot.lastPong = Date.now();
    slot.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (m: ToPrimary | null) => {
      switch (m?.t) {
        case 'listening':
          slot.listening = true;
          break;
        case 'pong':
          if (slot.child === child) slot.lastPong = Date.now();
          break;
        case 'failed':
          if (slot.child === child) slot.failure = m.message;
          break;
        default:
          // A worker of another version (or a bug) must not bring the whole server down: logged, ignored.
          log.error({ worker: index, pid: child.pid, err: unexpectedMessage(m) }, 'unexpected message from a worker: ignored');
      }
    });
    child.once('exit', (code, signal) => this.onExit(slot, child, code, signal));
    // A ChildProcess 'error' (a failed kill, a channel error) with no listener would crash the primary; its exit, if any, follows.
    child.on('error', (err) => log.warn({ worker: index, pid: child.pid, err: err.message }, 'worker process error'));
    return slot;
  }

  private listening(slot: Slot): Promise<number> {
    const child = slot.child;
    return new Promise((resolve, reject) => {
      const onMessage = (m: ToPrimary): void => {
        if (m.t !== 'listening') return;
        child.off('message', onMessage);
        resolve(m.port);
      };
      child.on('message', onMessage);
      // 'close', not 'exit': it comes after the IPC channel is drained, so the worker's `failed` message has arrived.
      // The start fails with the worker's own reason ("address in use: …"), as a single process's would.
      child.once('close', (code, signal) =>
        reject(new Error(slot.failure ?? `worker ${slot.index} exited before listening (${signal ?? `code ${code}`}): see the lines above`)),
      );
    });
  }

  /**
   * A worker may have died a moment ago with the primary not yet told
   * (`connected` is still true): the write then fails with EPIPE, which
   * without a callback is an 'error' event that would crash the primary.
   * Its exit follows, and onExit restarts it.
   */
  private send(slot: Slot, m: ToWorker): void {
    if (!slot.child.connected) return;
    slot.child.send(m, (err) => {
      if (err !== null) log.debug({ worker: slot.index, message: m.t, err: err.message }, 'could not tell a worker: it is exiting');
    });
  }

  /**
   * The one place a restart is decided: every child's exit comes here, and
   * only the slot's current child counts, so a slot has at most one restart
   * waiting and one child at a time. A restarted child that dies before it
   * listens comes back here too, and waits twice as long as before.
   */
  private onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    slot.listening = false;
    if (this.closing || !this.running) return;
    const ranLong = Date.now() - slot.startedAt > RESTART_RESET_MS;
    slot.wait = ranLong ? RESTART_MIN_MS : slot.wait === 0 ? RESTART_MIN_MS * 4 : Math.min(RESTART_MAX_MS, slot.wait * 2);
    log.error({ worker: slot.index, code, signal, restartInMs: slot.wait, ...(slot.failure === undefined ? {} : { reason: slot.failure }) }, 'worker exited: restarting it');
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (this.closing) return;
      this.restarts++;
      this.spawn(slot.index, slot);
      this.listening(slot).then(
        () => {
          log.info({ worker: slot.index, restarts: this.restarts }, 'worker restarted');
          for (const s of this.slots) this.send(s, { t: 'restarts', count: this.restarts });
        },
        // It died before listening: its exit has already scheduled the next attempt.
        () => undefined,
      );
    }, slot.wait);
  }

  /** Tells every worker to stop (each answers what it holds); resolves when all have exited, killing any left after `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    clearInterval(this.servicesTimer);
    clearInterval(this.pingTimer);
    for (const s of this.slots) clearTimeout(s.timer);
    for (const s of this.slots) this.send(s, { t: 'close' });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.slots.map((s) => s.exited)), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    for (const s of this.slots) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  }
}
