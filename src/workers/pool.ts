import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Ticket, TicketSink } from '../admission/ticket';
import type { Config } from '../config';
import type { SaleEvent } from '../events/sale-event';
import { log } from '../log';
import { Stage, type AnswerCounts } from '../metrics/decisions';
import { Outcome } from '../outcome';
import { DROPPED, type Buy, type EventState, type Stats, type ToPrimary, type ToWorker } from './protocol';
import { TurnOutbox } from './turn-outbox';

/** A port the kernel says is free on `host` now. */
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

/** A leader a worker sent to the primary's consumer. */
export class RemoteTicket implements Ticket {
  cancelled = false;
  constructor(
    readonly link: WorkerLink,
    readonly id: number,
    readonly event: SaleEvent,
    readonly user: string,
    readonly deadline: number,
  ) {}

  wanted(): boolean {
    return !this.cancelled && this.link.alive;
  }
}

/** What the pool needs of the primary: its events and its one consumer's line. */
export interface PrimaryParts {
  readonly config: Config;
  /** The primary's loopback listener for every route but the buy route. */
  readonly internal: string;
  readonly events: () => Iterable<SaleEvent>;
  readonly event: (id: string) => SaleEvent | undefined;
  /** Queues a ticket for the consumer; false when the line is full. */
  readonly enqueue: (t: RemoteTicket) => boolean;
  readonly redisReady: () => boolean;
  readonly refused: AnswerCounts;
}

const RESTART_MIN_MS = 200;
const RESTART_MAX_MS = 5_000;

/** The compiled worker entry (tests run the sources, so look for dist/ from there too). */
function workerEntry(): string {
  const here = path.join(__dirname, 'worker-main.js');
  if (fs.existsSync(here)) return here;
  const dist = path.resolve(__dirname, '..', '..', 'dist', 'src', 'workers', 'worker-main.js');
  if (fs.existsSync(dist)) return dist;
  throw new Error(`worker entry not found (${here}, ${dist}): run npm run build`);
}

function stateOf(e: SaleEvent): EventState {
  return { id: e.id, stock: e.stock, start: e.start, end: e.end, name: e.name, remaining: e.remaining };
}

/**
 * One worker process as the primary sees it: the tickets it sent and not yet
 * decided, and the decisions to send back (one message per turn).
 */
export class WorkerLink {
  alive = true;
  listening = false;
  readonly tickets = new Map<number, RemoteTicket>();
  private readonly out = new TurnOutbox(
    () => ({ ids: [] as number[], codes: [] as number[], orders: [] as number[], stages: [] as number[], remaining: new Map<string, number>(), winners: new Map<string, [string, string[], number[]]>() }),
    (d) => {
      this.messages.toWorkers++;
      this.send({ t: 'decided', ids: d.ids, codes: d.codes, orders: d.orders, stages: d.stages, remaining: [...d.remaining], winners: [...d.winners.values()] });
    },
  );
  readonly exited: Promise<void>;

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
    /** The pool's message counts (decision messages sent are counted here). */
    private readonly messages: { toWorkers: number },
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  send(m: ToWorker): void {
    if (this.alive && this.child.connected) this.child.send(m);
  }

  /** A decision for one of its tickets (code DROPPED: never decided). */
  decide(t: RemoteTicket, code: number, order: number, stage: number): void {
    this.tickets.delete(t.id);
    this.push(t.id, code, order, stage);
    if (this.alive) this.out.filling().remaining.set(t.event.id, t.event.remaining);
  }

  /** An answer for a leader that never became a ticket. */
  refuse(id: number, code: Outcome): void {
    this.push(id, code, 0, 0);
  }

  /** A winner another worker's ticket found: this worker learns it with its next decisions. */
  learned(event: string, user: string, order: number): void {
    if (!this.alive) return;
    const winners = this.out.filling().winners;
    let w = winners.get(event);
    if (w === undefined) winners.set(event, (w = [event, [], []]));
    w[1].push(user);
    w[2].push(order);
  }

  private push(id: number, code: number, order: number, stage: number): void {
    if (!this.alive) return;
    const o = this.out.filling();
    o.ids.push(id);
    o.codes.push(code);
    o.orders.push(order);
    o.stages.push(stage);
  }
}

/**
 * The primary's worker processes (SECKILL_WORKERS). Each runs the HTTP front
 * on the shared port; all fan in to the primary's one consumer (one token
 * bucket, one Redis connection, batches across workers). The pool is that
 * consumer's sink: it routes each decision to the worker holding the
 * response. A worker that dies is logged and restarted; what it had sent is
 * let go (queued tickets are dropped undecided, decisions for it are
 * discarded). Processes, not threads: a uWS worker thread that exits aborts
 * the whole process (uWebSockets.js issue #324, reproduced with this build),
 * so a thread could never be restarted.
 */
export class WorkerPool implements TicketSink<RemoteTicket> {
  readonly links: WorkerLink[] = [];
  port = 0;
  private closing = false;
  private seq = 0;
  private readonly statsWaiters = new Map<number, { want: number; got: Stats[]; done: () => void }>();
  /** Parked requests in all workers, as of the last collect(). */
  parked = 0;
  /** Buy messages received and decision messages sent (seckill_worker_messages_total). */
  readonly messages = { toPrimary: 0, toWorkers: 0 };

  constructor(private readonly parts: PrimaryParts) {}

  /** Starts the workers one by one on `port` (never 0: uWS sets SO_REUSEPORT only on a given port); resolves with it. */
  async start(count: number, port: number): Promise<number> {
    this.port = port;
    for (let i = 0; i < count; i++) {
      const link = this.spawn(i);
      this.links[i] = link;
      this.port = await this.listening(link);
    }
    return this.port;
  }

  private spawn(index: number): WorkerLink {
    const child = fork(workerEntry(), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        SECKILL_WORKER_CONFIG: JSON.stringify(this.parts.config),
        SECKILL_WORKER_START: JSON.stringify({ index, port: this.port, internal: this.parts.internal }),
      },
    });
    const link = new WorkerLink(index, child, this.messages);
    child.on('message', (m: ToPrimary) => this.onMessage(link, m));
    child.once('exit', (code, signal) => this.onExit(link, code, signal));
    link.send({ t: 'events', events: [...this.parts.events()].map(stateOf) });
    return link;
  }

  private listening(link: WorkerLink): Promise<number> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: ToPrimary): void => {
        if (m.t !== 'listening') return;
        link.child.off('message', onMessage);
        resolve(m.port);
      };
      link.child.on('message', onMessage);
      void link.exited.then(() => reject(new Error(`worker ${link.index} exited before listening`)));
    });
  }

  private onMessage(link: WorkerLink, m: ToPrimary): void {
    if (m.t === 'buy') this.onBuy(link, m);
    else if (m.t === 'stats') this.onStats(m);
    else if (m.t === 'listening') link.listening = true;
  }

  private onBuy(link: WorkerLink, m: Buy): void {
    this.messages.toPrimary++;
    for (const id of m.cancel) {
      const t = link.tickets.get(id);
      if (t !== undefined) t.cancelled = true;
    }
    for (let i = 0; i < m.ids.length; i++) {
      const id = m.ids[i] as number;
      const event = this.parts.event(m.events[i] as string);
      if (event === undefined) {
        // Workers only know events the primary sent them, and the catalog forgets none: not expected.
        link.refuse(id, Outcome.UnknownEvent);
        continue;
      }
      const t = new RemoteTicket(link, id, event, m.users[i] as string, m.deadlines[i] as number);
      link.tickets.set(id, t);
      if (!this.parts.redisReady()) this.settle(t, Outcome.Unavailable, 0, 2);
      else if (!this.parts.enqueue(t)) this.settle(t, Outcome.Busy, 0, 2);
    }
  }

  settle(t: RemoteTicket, code: Outcome, order: number, stage: Stage): void {
    t.link.decide(t, code, order, stage);
    // The ticket's own worker learns the winner from its decision; the others with theirs.
    if (stage === Stage.Redis && (code === Outcome.Won || code === Outcome.AlreadyBought)) {
      for (const l of this.links) if (l !== t.link) l.learned(t.event.id, t.user, order);
    }
  }

  /** The worker sweeps its own deadlines: nothing to send early. */
  answerEarly(): void {}

  drop(t: RemoteTicket): void {
    t.link.decide(t, DROPPED, 0, 0);
  }

  private onExit(link: WorkerLink, code: number | null, signal: NodeJS.Signals | null): void {
    link.alive = false;
    const pending = link.tickets.size;
    link.tickets.clear();
    if (this.closing) return;
    log.error({ worker: link.index, code, signal, pending }, 'worker exited: restarting it');
    let wait = RESTART_MIN_MS;
    const restart = (): void => {
      if (this.closing) return;
      const next = this.spawn(link.index);
      this.links[link.index] = next;
      this.listening(next).then(
        () => log.info({ worker: link.index }, 'worker restarted'),
        () => {
          wait = Math.min(RESTART_MAX_MS, wait * 2);
          setTimeout(restart, wait);
        },
      );
    };
    setTimeout(restart, wait);
  }

  /** Orders expired unpaid: every worker's prefilter refuses their users with 12. */
  expired(event: SaleEvent, expired: readonly { readonly user: string; readonly order: number }[]): void {
    const m: ToWorker = { t: 'expired', event: event.id, users: expired.map((x) => x.user), orders: expired.map((x) => x.order) };
    for (const l of this.links) l.send(m);
  }

  /** An event changed (put, refresh, restore, sold out): every worker's prefilter learns it at once. */
  broadcast(events: readonly SaleEvent[]): void {
    const m: ToWorker = { t: 'events', events: events.map(stateOf) };
    for (const l of this.links) l.send(m);
  }

  /**
   * Gathers every worker's answer counts into the primary's (each event's
   * `answers`, and `refused`) and the parked total, for /metrics and the
   * admin stats. Waits at most `timeoutMs` for slow workers.
   */
  async collect(timeoutMs = 1_000): Promise<void> {
    const live = this.links.filter((l) => l.alive && l.listening);
    const seq = ++this.seq;
    const got: Stats[] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.statsWaiters.set(seq, {
        want: live.length,
        got,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      if (live.length === 0) resolve();
      for (const l of live) l.send({ t: 'stats?', seq });
    });
    this.statsWaiters.delete(seq);
    const sums = new Map<string, Float64Array>();
    const refused = this.parts.refused.counts;
    refused.fill(0);
    let parked = 0;
    for (const s of got) {
      parked += s.parked;
      s.refused.forEach((n, i) => (refused[i] = (refused[i] ?? 0) + n));
      for (const [id, counts] of s.events) {
        let sum = sums.get(id);
        if (sum === undefined) sums.set(id, (sum = new Float64Array(counts.length)));
        counts.forEach((n, i) => (sum[i] = (sum[i] ?? 0) + n));
      }
    }
    this.parked = parked;
    for (const e of this.parts.events()) {
      const sum = sums.get(e.id);
      if (sum !== undefined) e.answers.counts.set(sum);
    }
  }

  private onStats(m: Stats): void {
    const w = this.statsWaiters.get(m.seq);
    if (w === undefined) return;
    w.got.push(m);
    if (w.got.length >= w.want) w.done();
  }

  /** Tells every worker to stop listening, answer what it holds and exit; resolves when all have (bounded). */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    for (const l of this.links) l.send({ t: 'close' });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.links.map((l) => l.exited)), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    for (const l of this.links) if (l.child.exitCode === null && l.child.signalCode === null) l.child.kill('SIGKILL');
  }

  /** Workers listening now. */
  get ready(): number {
    return this.links.filter((l) => l.alive && l.listening).length;
  }
}
