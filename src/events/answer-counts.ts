import { OUTCOME_COUNT, type Outcome } from '../outcome';

/** Which transport a buy came in on (the `channel` label of seckill_decisions_total). */
export enum Channel {
  Http = 0,
  Ws = 1,
}

export const CHANNEL_NAMES: readonly string[] = Object.freeze(['http', 'ws']);

/** Where a buy request got its answer (the `stage` label of seckill_decisions_total). */
export enum Stage {
  /** Refused before any sale state was read: bad request, method, size, token, unknown event, blocklist. */
  Http = 0,
  /** The in-process checks: window, already won, local stock, per-user throttle. */
  Prefilter = 1,
  /** The queue: full (5), deadline passed (6), Redis lost while waiting (10). */
  Queue = 2,
  /** The buy script's answer, and the answer followers share with their leader. */
  Redis = 3,
}

export const STAGE_NAMES: readonly string[] = Object.freeze(['http', 'prefilter', 'queue', 'redis']);

const PER_CHANNEL = STAGE_NAMES.length * OUTCOME_COUNT;

/**
 * Answers counted by channel, stage and outcome in one flat array: the buy
 * path pays one increment per answer, and /metrics and the admin stats read
 * the array. Each event keeps one (SaleEvent.answers); answers refused
 * before an event was found (stage http) go to the server's own.
 */
export class AnswerCounts {
  private readonly counts = new Float64Array(CHANNEL_NAMES.length * PER_CHANNEL);

  /** The counts as published (src/metrics/fleet-counts.ts): comma-separated, in the array's order. */
  serialize(): string {
    return this.counts.join(',');
  }

  /** Counts read back from serialize(); undefined when `text` is not such a list. */
  static parse(text: string): AnswerCounts | undefined {
    const numbers = text.split(',').map(Number);
    const out = new AnswerCounts();
    if (numbers.length !== out.counts.length || numbers.some((n) => !Number.isFinite(n) || n < 0)) return undefined;
    out.counts.set(numbers);
    return out;
  }

  /** Adds `other`'s counts to these. */
  add(other: AnswerCounts): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] = (this.counts[i] ?? 0) + (other.counts[i] ?? 0);
  }

  /** No answer counted yet. */
  get empty(): boolean {
    return this.counts.every((n) => n === 0);
  }

  count(channel: Channel, stage: Stage, code: Outcome): void {
    this.counts[channel * PER_CHANNEL + stage * OUTCOME_COUNT + code]!++;
  }

  at(channel: number, stage: number, code: number): number {
    return this.counts[channel * PER_CHANNEL + stage * OUTCOME_COUNT + code] ?? 0;
  }

  /** All answers with this code on `channel` (every channel when undefined), whatever decided them. */
  total(code: Outcome, channel?: Channel): number {
    let n = 0;
    for (let c = 0; c < CHANNEL_NAMES.length; c++) {
      if (channel !== undefined && c !== channel) continue;
      for (let stage = 0; stage < STAGE_NAMES.length; stage++) n += this.at(c, stage, code);
    }
    return n;
  }
}
