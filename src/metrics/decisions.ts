import { OUTCOME_COUNT, type Outcome } from '../outcome';

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

/**
 * Answers counted by stage and outcome in one flat array: the buy path pays
 * one increment per answer, and /metrics and the admin stats read the array.
 * Each event keeps one (SaleEvent.answers); answers refused before an event
 * was found (stage http) go to the server's own.
 */
export class AnswerCounts {
  readonly counts = new Float64Array(STAGE_NAMES.length * OUTCOME_COUNT);

  count(stage: Stage, code: Outcome): void {
    this.counts[stage * OUTCOME_COUNT + code]!++;
  }

  at(stage: number, code: number): number {
    return this.counts[stage * OUTCOME_COUNT + code] ?? 0;
  }

  /** All answers with this code, whatever decided them. */
  total(code: Outcome): number {
    let n = 0;
    for (let stage = 0; stage < STAGE_NAMES.length; stage++) n += this.at(stage, code);
    return n;
  }
}
