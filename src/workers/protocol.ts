import type { EventDefinition } from '../redis/scripts';

/**
 * Messages between the primary process and its worker processes (node IPC
 * with the "advanced" serialization: structured clone, so arrays of numbers
 * and strings travel as they are). Each message costs far more than its
 * contents (a write, a wake-up of the other process, a read), so they are
 * few: a worker sends at most one `Buy` per millisecond (at once when it
 * has sent none for that long), and the primary one `Decided` per worker
 * per event-loop turn, which also carries the winners other workers found.
 */

/** An event as the primary's catalog has it; a worker's prefilter copies it. */
export interface EventState extends EventDefinition {
  readonly id: string;
  readonly remaining: number;
}

/** Worker → primary: leaders that could still win, and the ones whose client left. */
export interface Buy {
  readonly t: 'buy';
  readonly ids: number[];
  readonly events: string[];
  readonly users: string[];
  readonly deadlines: number[];
  /** Leaders sent earlier whose client left: do not spend a unit on them. */
  readonly cancel: number[];
}

/** Code in `Decided` for a ticket the primary dropped undecided (its client left). */
export const DROPPED = -1;

/**
 * Primary → worker: the decisions of its tickets, the count of each event
 * they touched, and the winners found for other workers' tickets (so a
 * repeat click on any worker is "already bought" from memory).
 */
export interface Decided {
  readonly t: 'decided';
  readonly ids: number[];
  readonly codes: number[];
  readonly orders: number[];
  readonly stages: number[];
  /** [event id, remaining] per event the batch touched. */
  readonly remaining: [string, number][];
  /** [event id, users, their orders]: won (or already bought) through another worker. */
  readonly winners: [string, string[], number[]][];
}

/** Primary → every worker: users whose order expired unpaid (answered 12 from now on, never "already bought"). */
export interface Expired {
  readonly t: 'expired';
  readonly event: string;
  readonly users: string[];
  readonly orders: number[];
}

export interface Events {
  readonly t: 'events';
  readonly events: EventState[];
}

/** Primary → worker: answer with your counts (for /metrics and the admin stats). */
export interface StatsQuery {
  readonly t: 'stats?';
  readonly seq: number;
}

export interface Stats {
  readonly t: 'stats';
  readonly seq: number;
  /** Answers refused before an event was found, as AnswerCounts.counts. */
  readonly refused: number[];
  /** Per event id, its AnswerCounts.counts. */
  readonly events: [string, number[]][];
  /** Parked requests not yet answered whose client is there. */
  readonly parked: number;
}

export interface Listening {
  readonly t: 'listening';
  readonly port: number;
}

/** Primary → worker: stop listening, answer what is parked, exit. */
export interface Close {
  readonly t: 'close';
}

export type ToWorker = Decided | Expired | Events | StatsQuery | Close;
export type ToPrimary = Buy | Stats | Listening;

/** What a worker process is started with (in its environment, as JSON). */
export interface WorkerStart {
  readonly index: number;
  /** The public port to share (SO_REUSEPORT); 0 only for the first worker of a port-0 server. */
  readonly port: number;
  /** Where the primary serves every route but the buy route, on loopback. */
  readonly internal: string;
}
